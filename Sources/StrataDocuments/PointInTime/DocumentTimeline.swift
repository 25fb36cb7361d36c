import Foundation
import Strata

/// Document collections as they were at any earlier point, rebuilt from the log; documents'
/// full histories; and restoring an earlier state as the current one.
///
/// Every read scans `$all` for the collections' events (filtered by the backend) and folds
/// them with the live view's own code, so a rebuilt state equals what a live view showed at
/// that position, meta included. `$all` keeps every event, so compaction does not shorten
/// histories; a store whose retention dropped events cannot answer (`unsupported`).
///
/// ```swift
/// let timeline = DocumentTimeline(store: store)
/// let then = try await timeline.state(of: "users", at: .position(change.bookmark))
/// let versions = try await timeline.history(of: "ada", in: "users")
/// try await timeline.restore([users], to: .position(change.bookmark))   // one atomic append
/// ```
public struct DocumentTimeline: Sendable {
    /// The event store read.
    public let store: any EventStore

    /// A timeline over the document collections of `store`.
    public init(store: any EventStore) { self.store = store }

    /// One collection as it was at `point`.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad collection name or a
    ///   position after the store's head; `StrataError.unsupported(_:)` when retention
    ///   dropped events.
    public func state(of collection: String, at point: PointInTime) async throws -> CollectionState {
        try await states(at: point, collections: [collection])[collection]!
    }

    /// Several collections — or, with `collections` `nil`, every collection with events in the
    /// store — as they were at `point`, from one scan.
    public func states(at point: PointInTime, collections: [String]? = nil) async throws -> [String: CollectionState] {
        if let collections { for name in collections { try DocumentNaming.validateCollection(name) } }
        try await checkComplete()
        let head = try await store.headPosition()
        let limit: UInt64
        var timeLimit: Int64?
        switch point {
        case .position(let position):
            guard position <= head else {
                throw StrataError.invalidArgument("position \(position) is after the store's head \(head): the future is not in the log")
            }
            limit = position
        case .time(let date):
            limit = head
            timeLimit = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        }
        var views: [String: DocumentView] = [:]
        var positions: [String: UInt64] = [:]
        var pending: [String: [(event: RecordedEvent, key: String, operation: DocumentEvents.Operation)]] = [:]
        func view(_ name: String) -> DocumentView {
            if let view = views[name] { return view }
            let view = DocumentView(collection: name, indexedPaths: [], bufferLimit: 1)
            views[name] = view
            return view
        }
        for name in collections ?? [] { _ = view(name) }
        let filter = EventFilter(streamPrefixes: (collections ?? []).map { DocumentNaming.streamPrefix(collection: $0) },
                                 eventTypes: Set(DocumentEvents.all))
        if limit > 0 {
            for try await event in store.readAll(from: .start, filter: filter) {
                if event.position > limit { break }
                if let timeLimit, event.recordedAtMicroseconds > timeLimit { break }
                guard let dash = event.stream.firstIndex(of: "-") else { continue }
                let name = String(event.stream[..<dash])
                if collections == nil, (try? DocumentNaming.validateCollection(name)) == nil { continue }
                // An event a live view would park is skipped here too.
                guard let (key, operation) = try? DocumentEvents.decode(event, collection: name) else { continue }
                pending[name, default: []].append((event, key, operation))
                positions[name] = event.position
                if pending[name]!.count >= 1024 {
                    view(name).apply(pending[name]!)
                    pending[name] = []
                }
            }
        }
        for (name, events) in pending where !events.isEmpty { view(name).apply(events) }
        var result: [String: CollectionState] = [:]
        for (name, view) in views { result[name] = CollectionState(collection: name, position: positions[name] ?? 0, view: view) }
        return result
    }

    /// Every version of a document in the log, oldest first: each put, patch, delete and
    /// compaction event of its stream with its position, revision, recorded time and the
    /// document (data and meta) after it. Versions that compaction hid from stream reads are
    /// included. An unknown key has an empty history.
    ///
    /// With `after` and `limit`, only the versions with a revision greater than `after` are
    /// returned, at most `limit` of them: a page, whose memory is bounded by `limit` however
    /// long the history (the versions before it are still applied, not kept).
    ///
    /// Cost: one filtered scan of `$all`.
    public func history(of key: String, in collection: String, after: UInt64 = 0, limit: Int? = nil) async throws -> [DocumentVersion] {
        try DocumentNaming.validateCollection(collection)
        let key = try DocumentNaming.normalizeKey(key)
        let stream = try DocumentNaming.stream(collection: collection, key: key)
        try await checkComplete()
        let view = DocumentView(collection: collection, indexedPaths: [], bufferLimit: 1)
        var versions: [DocumentVersion] = []
        let filter = EventFilter(streamPrefixes: [stream], eventTypes: Set(DocumentEvents.all))
        for try await event in store.readAll(from: .start, filter: filter) where event.stream == stream {
            guard let (eventKey, operation) = try? DocumentEvents.decode(event, collection: collection),
                  let kind = DocumentVersion.Operation(rawValue: event.type) else { continue }
            view.apply([(event, eventKey, operation)])
            guard event.revision > after else { continue }
            if let limit, versions.count >= limit { break }
            versions.append(DocumentVersion(position: event.position, revision: event.revision,
                                            recordedAtMicroseconds: event.recordedAtMicroseconds, operation: kind,
                                            document: view.document(key)))
        }
        return versions
    }

    /// The changes recorded for `collection` (its change stream `cdc-<collection>`, written by
    /// ``CDCCollection``) with a bookmark greater than `bookmark`, oldest first, at most `limit`.
    /// A collection without changes has none; the collection need not be open.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad collection name;
    ///   `StrataError.eventDecodingFailed(position:type:field:reason:)` for a change event that
    ///   is not of format version 1.
    public func changes(of collection: String, after bookmark: UInt64 = 0, limit: Int? = nil) async throws -> [CDCChange] {
        try DocumentNaming.validateCollection(collection)
        var result: [CDCChange] = []
        if let limit, limit <= 0 { return result }
        guard bookmark < .max else { return result }
        for try await event in store.readAll(from: .at(bookmark + 1), filter: CDCChange.eventFilter(collection: collection)) {
            guard let change = try CDCChange.decode(event, collection: collection) else { continue }
            result.append(change)
            if let limit, result.count >= limit { break }
        }
        return result
    }

    /// Makes the collections hold what they held at `point`, in one atomic append (see
    /// docs/CDC.md, "Restoring"): documents created since are deleted, changed ones put back,
    /// deleted ones re-created; equal ones are left alone. The restore is new events — the
    /// history in between stays in the log, and meta counts on (`changes` grows).
    /// - Throws: as ``states(at:collections:)``, and `invalidArgument` for collections on
    ///   different stores or another store than this timeline's.
    @discardableResult
    public func restore(_ collections: [DocumentStore], to point: PointInTime) async throws -> RestoreReport {
        try await restore(collections.map { ($0, nil) }, to: point)
    }

    /// Restores CDC collections to `point`, recording every write as a change.
    @discardableResult
    public func restore(_ collections: [CDCCollection], to point: PointInTime) async throws -> RestoreReport {
        try await restore(collections.map { ($0.documents, $0.options) }, to: point)
    }

    private func restore(_ targets: [(DocumentStore, CDCOptions?)], to point: PointInTime) async throws -> RestoreReport {
        for (documents, _) in targets where ObjectIdentifier(documents.store as AnyObject) != ObjectIdentifier(store as AnyObject) {
            throw StrataError.invalidArgument("collection \(documents.collection) is on another event store than this timeline")
        }
        let states = try await states(at: point, collections: targets.map(\.0.collection))
        return try await DocumentStore.replace(targets.map {
            ReplaceTarget(documents: $0.0, cdc: $0.1, contents: states[$0.0.collection]!.contents)
        })
    }

    /// Point-in-time reads need every event since position 1.
    private func checkComplete() async throws {
        let stats = try await store.stats()
        if stats.firstPosition > 1 {
            throw StrataError.unsupported("point-in-time reads need the whole log, but this store's retention dropped the events before position \(stats.firstPosition)")
        }
    }
}
