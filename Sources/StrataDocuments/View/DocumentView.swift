import Foundation
import Strata
import StrataConsumers
import StrataJSON

/// The materialized view of one collection: key → document and meta, secondary indexes and
/// subscriptions, folded from the collection's events by one ``apply(_:)`` that serves live
/// updates and replays alike (so a live instance and a fresh replay agree).
///
/// Thread safety: every member is read and written under `lock`; `@unchecked Sendable` rests on that.
final class DocumentView: @unchecked Sendable {
    /// A key's slot: a live document, or the tombstone of a deleted one (kept so that writers
    /// can check `expectedChanges: 0` against the stream's revision).
    struct Entry {
        var data: DocumentValue
        var changes: Int
        var createdMs: Int64
        var modifiedMs: Int64
        var revision: UInt64
        var live: Bool
    }

    static func document(_ key: String, _ entry: Entry) -> Document {
        Document(key: key, data: entry.data, meta: DocumentMeta(id: key, createdMilliseconds: entry.createdMs,
                                                                 modifiedMilliseconds: entry.modifiedMs, changes: entry.changes))
    }

    /// What an awaited write produced, for the writer that waits for it.
    enum Outcome {
        case document(Document)
        case deleted(existed: Bool)
        case none
    }

    struct Subscriber {
        let filter: DocumentFilter
        let continuation: AsyncThrowingStream<DocumentChange, any Error>.Continuation
    }

    let collection: String
    let bufferLimit: Int
    let lock = NSLock()
    private(set) var entries: [String: Entry] = [:]
    private(set) var liveCount = 0
    /// The highest position applied: events at or below it are skipped, so re-delivery is harmless.
    private(set) var appliedPosition: UInt64 = 0
    /// The consumer's checkpoint (at least `appliedPosition`; it also moves past filtered-out events).
    var position: UInt64 = 0
    var indexes: [String: SecondaryIndex] = [:]
    var parked: [ParkedEvent] = []
    private var subscribers: [Int: Subscriber] = [:]
    private var nextSubscriber = 0
    private var awaited: [UUID: Outcome] = [:]
    /// Subscriptions ended during an apply (overflow, or a filter that failed), finished after it.
    private var overflowed: [(AsyncThrowingStream<DocumentChange, any Error>.Continuation, any Error)] = []
    var onEmit: (@Sendable (String, Int) -> Void)?

    init(collection: String, indexedPaths: [FieldPath], bufferLimit: Int) {
        self.collection = collection
        self.bufferLimit = bufferLimit
        for path in indexedPaths { indexes[path.description] = SecondaryIndex(path: path) }
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: Applying events

    /// Applies decoded events in position order. Never throws: decoding happened before, so a
    /// batch is applied whole or (when decoding failed) not at all.
    func apply(_ events: [(event: RecordedEvent, key: String, operation: DocumentEvents.Operation)]) {
        lock.lock()
        for item in events where item.event.position > appliedPosition {
            applyOne(item.event, key: item.key, operation: item.operation)
            appliedPosition = item.event.position
        }
        let ended = overflowed
        overflowed = []
        lock.unlock()
        // Finishing runs the stream's termination handler, which takes the lock: do it outside.
        for (continuation, error) in ended { continuation.finish(throwing: error) }
    }

    private func applyOne(_ event: RecordedEvent, key: String, operation: DocumentEvents.Operation) {
        let old = entries[key]
        let oldData = old?.live == true ? old!.data : nil
        let timeMs = Self.floorDiv(event.recordedAtMicroseconds, 1000)
        var outcome = Outcome.none
        switch operation {
        case .put(let data), .patch(let data):
            let isPatch: Bool
            var newData: DocumentValue
            if case .patch = operation {
                isPatch = true
                newData = DocumentEvents.mergePatch(oldData ?? .object([:]), data)
            } else {
                isPatch = false
                newData = data
            }
            if newData["id"] != .string(key) { newData["id"] = .string(key) }
            let entry: Entry
            if let old, old.live {
                entry = Entry(data: newData, changes: old.changes + 1, createdMs: old.createdMs,
                              modifiedMs: max(timeMs, old.modifiedMs + 1), revision: event.revision, live: true)
            } else {
                entry = Entry(data: newData, changes: 1, createdMs: timeMs, modifiedMs: timeMs, revision: event.revision, live: true)
                liveCount += 1
            }
            reindex(key, old: oldData, new: newData)
            entries[key] = entry
            let document = Self.document(key, entry)
            outcome = .document(document)
            emit(key: key, old: oldData, new: document, kind: isPatch ? .patch : .put, timeMs: timeMs)
        case .delete:
            if let oldData {
                liveCount -= 1
                reindex(key, old: oldData, new: nil)
                emit(key: key, old: oldData, new: nil, kind: .delete, timeMs: timeMs)
            }
            entries[key] = Entry(data: .null, changes: 0, createdMs: 0, modifiedMs: timeMs, revision: event.revision, live: false)
            outcome = .deleted(existed: oldData != nil)
        case .snapshot(var data, let changes, let created, let modified):
            // Compaction restates the document; reads do not change and nothing is emitted.
            if data["id"] != .string(key) { data["id"] = .string(key) }
            if old?.live != true { liveCount += 1 }
            reindex(key, old: oldData, new: data)
            entries[key] = Entry(data: data, changes: changes, createdMs: created, modifiedMs: modified, revision: event.revision, live: true)
        case .purged:
            if old?.live == false { entries[key] = nil }
        }
        if !awaited.isEmpty, awaited[event.id] != nil { awaited[event.id] = outcome }
    }

    /// Forgets a key entirely, document or tombstone (its stream was erased): subscribers see a
    /// delete of a live document.
    func forget(_ key: String, timeMs: Int64) {
        withLock {
            guard let old = entries[key] else { return }
            if old.live {
                liveCount -= 1
                reindex(key, old: old.data, new: nil)
                emit(key: key, old: old.data, new: nil, kind: .delete, timeMs: timeMs)
            }
            entries[key] = nil
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

    private func reindex(_ key: String, old: DocumentValue?, new: DocumentValue?) {
        guard !indexes.isEmpty else { return }
        for index in indexes.values {
            if let old { index.remove(key, data: old) }
            if let new { index.insert(key, data: new) }
        }
    }

    // MARK: Awaited writes

    /// Registers event ids whose outcome a writer will collect after the view applied them.
    func expect(_ ids: [UUID]) {
        withLock { for id in ids { awaited[id] = Outcome.none } }
    }

    /// Takes (and forgets) the outcomes of registered ids.
    func takeOutcomes(_ ids: [UUID]) -> [Outcome] {
        withLock { ids.map { awaited.removeValue(forKey: $0) ?? .none } }
    }

    // MARK: Reading

    func document(_ key: String) -> Document? {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = entries[key], entry.live else { return nil }
        return Self.document(key, entry)
    }

    /// The entry for a key (live or tombstone), for write checks.
    func entry(_ key: String) -> Entry? { withLock { entries[key] } }

    /// Documents matching a filter, through an index when one serves it, and the plan used.
    func matching(_ filter: DocumentFilter) throws -> (documents: [Document], plan: QueryPlan) {
        lock.lock()
        defer { lock.unlock() }
        var result: [Document] = []
        if let lookup = QueryPlanner.lookup(filter, indexes: indexes) {
            let candidates = lookup.run(indexes[lookup.plan.index!]!)
            for key in candidates {
                guard let entry = entries[key], entry.live, try filter.matches(entry.data) else { continue }
                result.append(Self.document(key, entry))
            }
            return (result, lookup.plan)
        }
        for (key, entry) in entries where entry.live {
            if try filter.matches(entry.data) { result.append(Self.document(key, entry)) }
        }
        return (result, .fullScan)
    }

    /// The number of documents matching a filter (the same evaluator and plan as `matching`).
    func count(_ filter: DocumentFilter) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        if case .all = filter { return liveCount }
        if let lookup = QueryPlanner.lookup(filter, indexes: indexes) {
            let candidates = lookup.run(indexes[lookup.plan.index!]!)
            return try candidates.reduce(0) { n, key in
                guard let entry = entries[key], entry.live, try filter.matches(entry.data) else { return n }
                return n + 1
            }
        }
        return try entries.values.reduce(0) { try $1.live && filter.matches($1.data) ? $0 + 1 : $0 }
    }

    func plan(_ filter: DocumentFilter) -> QueryPlan {
        withLock { QueryPlanner.lookup(filter, indexes: indexes)?.plan ?? .fullScan }
    }

    /// Every live key (unsorted).
    func liveKeys() -> [String] {
        withLock { entries.compactMap { $0.value.live ? $0.key : nil } }
    }

    // MARK: Subscriptions

    func subscribe(_ filter: DocumentFilter) -> DocumentSubscription {
        let (stream, continuation) = AsyncThrowingStream<DocumentChange, any Error>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
        let id = withLock { () -> Int in
            nextSubscriber += 1
            subscribers[nextSubscriber] = Subscriber(filter: filter, continuation: continuation)
            return nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return DocumentSubscription(stream: stream) { continuation.finish() }
    }

    private func unsubscribe(_ id: Int) {
        withLock { _ = subscribers.removeValue(forKey: id) }
    }

    var subscriberCount: Int { withLock { subscribers.count } }

    /// Ends every subscription (the store is closing).
    func finishSubscriptions(error: (any Error)? = nil) {
        let all = withLock { () -> [Subscriber] in
            defer { subscribers = [:] }
            return Array(subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish(throwing: error) }
    }

    /// Delivers a change to the subscriptions whose filter matches the document before or after it.
    private func emit(key: String, old: DocumentValue?, new: Document?, kind: DocumentChange.Kind, timeMs: Int64) {
        guard !subscribers.isEmpty else { return }
        var timestamp: String?
        var dropped: [(Int, any Error)] = []
        for (id, subscriber) in subscribers {
            let newMatches: Bool, oldMatches: Bool
            do {
                newMatches = try new.map { try subscriber.filter.matches($0.data) } ?? false
                oldMatches = try old.map { try subscriber.filter.matches($0) } ?? false
            } catch {
                dropped.append((id, error))
                continue
            }
            guard newMatches || oldMatches else { continue }
            if timestamp == nil { timestamp = UTCTime.iso8601(timeMs * 1000, fractionDigits: 3) }
            let change = DocumentChange(key: key, data: new?.data, meta: new?.meta,
                                        event: DocumentChange.Event(type: kind, oldData: old, timestamp: timestamp!),
                                        matches: newMatches)
            switch subscriber.continuation.yield(change) {
            case .dropped: dropped.append((id, StrataError.invalidArgument(
                "a subscription to collection \(collection) fell more than \(bufferLimit) changes behind and was ended; consume faster or raise subscriptionBufferLimit")))
            default: onEmit?(key, id)
            }
        }
        for (id, error) in dropped {
            if let subscriber = subscribers.removeValue(forKey: id) { overflowed.append((subscriber.continuation, error)) }
        }
    }

    // MARK: Restoring

    /// Replaces the whole state (loading a snapshot, or resetting to empty).
    func restore(entries: [String: Entry], position: UInt64, parked: [ParkedEvent]) {
        withLock {
            self.entries = entries
            self.liveCount = entries.values.reduce(0) { $0 + ($1.live ? 1 : 0) }
            self.position = position
            self.appliedPosition = position
            self.parked = parked
            for index in indexes.values {
                index.removeAll()
                for (key, entry) in entries where entry.live { index.insert(key, data: entry.data) }
            }
        }
    }
}
