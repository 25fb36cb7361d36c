import Foundation
import Strata

/// What a restore (of a snapshot, or to a point in time) wrote.
public struct RestoreReport: Sendable, Hashable {
    /// The collections replaced.
    public var collections: [String]
    /// Documents written (created, or replaced by different data).
    public var written: Int
    /// Documents deleted (present now, absent in the restored state).
    public var deleted: Int
    /// Documents already equal to the restored state (nothing written for them).
    public var unchanged: Int
    /// The restored documents, over all collections.
    public var totalDocs: Int
    /// The position of the restore's last event, or `nil` when nothing needed writing.
    public var position: UInt64?

    /// Creates a report.
    public init(collections: [String], written: Int = 0, deleted: Int = 0, unchanged: Int = 0, totalDocs: Int = 0, position: UInt64? = nil) {
        self.collections = collections
        self.written = written
        self.deleted = deleted
        self.unchanged = unchanged
        self.totalDocs = totalDocs
        self.position = position
    }
}

/// A collection to replace and what it must hold afterwards.
struct ReplaceTarget {
    let documents: DocumentStore
    /// When set, the replacement's writes are recorded as changes (a ``CDCCollection``'s options).
    let cdc: CDCOptions?
    /// key → data, as given (validated by `DocumentStore.replace`).
    let contents: [String: DocumentValue]
}

extension DocumentStore {
    /// Makes each target collection hold exactly its `contents`, for all targets in **one**
    /// atomic append: a `document.delete` for each live document absent from `contents`, a
    /// `document.put` for each document that is missing or differs, nothing for equal ones
    /// (plus the change events of CDC targets). Every document event carries the exact expected
    /// revision the view last applied (or `.noStream`), so if anyone writes one of these
    /// documents meanwhile the store refuses the whole append; the plan is then made again
    /// after catching up (at most `maxAttempts` times).
    ///
    /// - Throws: `StrataError.invalidArgument(_:)` for targets on different event
    ///   stores, a collection named twice, or contents that are not valid documents. Nothing is
    ///   stored when it throws.
    static func replace(_ targets: [ReplaceTarget], maxAttempts: Int = 16) async throws -> RestoreReport {
        let names = targets.map(\.documents.collection)
        guard let first = targets.first else { return RestoreReport(collections: []) }
        guard Set(names).count == names.count else { throw StrataError.invalidArgument("a restore names a collection twice: \(names)") }
        let storeID = ObjectIdentifier(first.documents.store as AnyObject)
        for target in targets {
            try target.documents.checkOpen()
            guard ObjectIdentifier(target.documents.store as AnyObject) == storeID else {
                throw StrataError.invalidArgument("a restore's collections must all be on one event store (one atomic append)")
            }
        }
        // Validate every document before anything is written.
        var prepared: [[(key: String, stream: String, data: DocumentValue)]] = []
        for target in targets {
            var items: [(key: String, stream: String, data: DocumentValue)] = []
            items.reserveCapacity(target.contents.count)
            for (rawKey, data) in target.contents {
                let key = try DocumentNaming.normalizeKey(rawKey)
                var stored = try DocumentStore.validated(data, key: key)
                if stored["id"] != .string(key) { stored["id"] = .string(key) }
                items.append((key, try DocumentNaming.stream(collection: target.documents.collection, key: key), stored))
            }
            guard Set(items.map(\.key)).count == items.count else {
                throw StrataError.invalidArgument("two keys of collection \(target.documents.collection) normalize to the same key")
            }
            items.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            prepared.append(items)
        }
        let totalDocs = prepared.reduce(0) { $0 + $1.count }
        var attempt = 0
        while true {
            attempt += 1
            for target in targets { try await target.documents.sync(timeout: target.documents.options.writeTimeout) }
            var report = RestoreReport(collections: names, totalDocs: totalDocs)
            var requests: [AppendRequest] = []
            var companions: [AppendRequest] = []
            var requestRanges: [Range<Int>] = []
            let ts = CDCCollection.now()
            for (target, items) in zip(targets, prepared) {
                let collection = target.documents.collection
                let entries = target.documents.view.withLock { target.documents.view.entries }
                let start = requests.count
                var changes: [EventData] = []
                func change(_ type: CDCChange.Operation, _ key: String, doc: DocumentValue?, prev: DocumentValue?) {
                    guard let cdc = target.cdc else { return }
                    changes.append(CDCChange.event(type, collection: collection, docId: key, doc: doc,
                                                   prev: cdc.trackPrevious ? prev : nil, ts: ts, source: cdc.source))
                }
                let wanted = Set(items.map(\.key))
                let doomed = entries.filter { $0.value.live && !wanted.contains($0.key) }
                    .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                for (key, entry) in doomed {
                    requests.append(AppendRequest(stream: try DocumentNaming.stream(collection: collection, key: key),
                                                  expectedRevision: .exact(entry.revision), events: [DocumentEvents.encode(key: key, .delete)]))
                    change(.delete, key, doc: nil, prev: entry.data)
                    report.deleted += 1
                }
                for item in items {
                    let entry = entries[item.key]
                    let live = entry?.live == true
                    if live, entry!.data == item.data {
                        report.unchanged += 1
                        continue
                    }
                    requests.append(AppendRequest(stream: item.stream, expectedRevision: CDCCollection.expectedRevision(entry),
                                                  events: [DocumentEvents.encode(key: item.key, .put(item.data))]))
                    change(live ? .update : .insert, item.key, doc: item.data, prev: live ? entry!.data : nil)
                    report.written += 1
                }
                requestRanges.append(start ..< requests.count)
                if !changes.isEmpty {
                    companions.append(AppendRequest(stream: CDCChange.stream(collection: collection), expectedRevision: .any, events: changes))
                }
            }
            guard !requests.isEmpty else { return report }
            let results: [AppendResult]
            do {
                results = try await first.documents.store.append(requests + companions)
            } catch StrataError.wrongExpectedRevision where attempt < max(1, maxAttempts) {
                continue
            }
            report.position = results[results.count - 1].lastPosition
            // Each view's consumer sees only its own collection's events: wait for its last one.
            for (target, range) in zip(targets, requestRanges) where !range.isEmpty {
                try await target.documents.consumer.waitUntilProcessed(through: results[range.upperBound - 1].lastPosition,
                                                                       timeout: target.documents.options.writeTimeout)
            }
            return report
        }
    }
}
