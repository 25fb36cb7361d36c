import Foundation
@_spi(Machinery) import Strata
import StrataConsumers
import Synchronization

/// An event-sourced document collection on any `EventStore`.
///
/// Every write is an event on the document's stream (`<collection>-<key>`); a checkpointed
/// consumer folds the collection's events into a materialized view that serves reads, queries
/// and subscriptions. A write returns once the view has applied it (read-your-writes); other
/// instances on the same store see it once their own view has processed it.
///
/// ```swift
/// let users = try await DocumentStore.open(store: store, collection: "users",
///                                          options: DocumentStoreOptions(directory: "./views", indexes: ["email"]))
/// let ada = try await users.put("ada", ["name": "Ada", "age": 36])      // ada.meta.changes == 1
/// let adults = try users.query(["age": ["$gte": 18]], options: QueryOptions(sort: [.ascending("name")]))
/// for try await change in try users.subscribe(["age": ["$gte": 18]]) { print(change.key, change.event.type) }
/// try await users.close()
/// ```
public final class DocumentStore: Sendable {
    /// The collection's name (its streams' prefix is `<collection>-`).
    public let collection: String
    /// The event store holding the collection's events.
    public let store: any EventStore
    /// The options it was opened with.
    public let options: DocumentStoreOptions

    let view: DocumentView
    let checkpoints: ViewCheckpointStore
    let consumer: CheckpointedConsumer<ViewCheckpointStore>
    private let stats: StatsRecorder?
    private let lifecycle = Lifecycle()

    /// Closed and used flags, atomics because every read checks them (a lock or a clock read
    /// per `get` would cost a noticeable share of it).
    final class Lifecycle: Sendable {
        private let closed = Atomic<Bool>(false)
        private let used = Atomic<Bool>(true)
        func touch() { if !used.load(ordering: .relaxed) { used.store(true, ordering: .relaxed) } }
        /// Whether the store was used since the last call.
        func takeUsed() -> Bool { used.exchange(false, ordering: .relaxed) }
        var isClosed: Bool { closed.load(ordering: .acquiring) }
        /// Marks closed; `false` when it already was.
        func close() -> Bool { !closed.exchange(true, ordering: .acquiringAndReleasing) }
    }

    private init(store: any EventStore, collection: String, options: DocumentStoreOptions, view: DocumentView,
                 checkpoints: ViewCheckpointStore, stats: StatsRecorder?) {
        self.store = store
        self.collection = collection
        self.options = options
        self.view = view
        self.checkpoints = checkpoints
        self.stats = stats
        let consumerOptions = ConsumerOptions(
            filter: EventFilter(streamPrefixes: [DocumentNaming.streamPrefix(collection: collection)], eventTypes: Set(DocumentEvents.all)),
            batchSize: options.batchSize, logger: options.logger, metrics: options.metrics)
        consumer = CheckpointedConsumer(name: "documents-\(collection)", store: store, checkpoints: checkpoints,
                                        options: consumerOptions) { events, view in
            // Decode the whole batch first: a bad event then fails the batch before anything is
            // applied, and the consumer retries event by event and parks the bad one.
            var decoded: [(event: RecordedEvent, key: String, operation: DocumentEvents.Operation)] = []
            decoded.reserveCapacity(events.count)
            for event in events {
                let (key, operation) = try DocumentEvents.decode(event, collection: collection)
                decoded.append((event, key, operation))
            }
            view.apply(decoded)
        }
    }

    /// Opens a collection: loads the view's snapshot (when `options.directory` is set), starts
    /// its consumer and waits until the view has caught up with the store.
    ///
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad collection name or index
    ///   path, `StrataError.corruption(path:offset:reason:)` or
    ///   `StrataError.unsupportedFormat(path:found:supported:)` for an unreadable
    ///   snapshot, `StrataError.checkpointAheadOfStore(consumer:checkpoint:head:)` for a
    ///   snapshot beyond the store's head (another store's: remove it to rebuild the view),
    ///   `StrataError.timedOut(_:)` when catching up takes longer than `timeout`.
    public static func open(store: any EventStore, collection: String, options: DocumentStoreOptions = DocumentStoreOptions(),
                            timeout: Duration = .seconds(300)) async throws -> DocumentStore {
        try DocumentNaming.validateCollection(collection)
        let paths = try options.indexes.map { try FieldPath($0) }
        let view = DocumentView(collection: collection, indexedPaths: paths, bufferLimit: max(1, options.subscriptionBufferLimit))
        var snapshotPath: String?
        if let directory = options.directory {
            try DurableFile.createDirectory(directory)
            let path = (directory as NSString).appendingPathComponent(SafeFileName.encode(collection) + ".view.json")
            _ = try ViewSnapshot.load(path, into: view)
            snapshotPath = path
        }
        let checkpoints = ViewCheckpointStore(view: view, snapshotPath: snapshotPath, snapshotEvery: options.snapshotEvery)
        // The view's consumer and the stats writer outlive whoever opens the collection: they
        // start outside the opener's trace, or their reads and writes would join it forever.
        let stats = try DocumentTracing.outsideTraces { try options.statsStream.map { try StatsRecorder(store: store, stream: $0) } }
        let documents = DocumentStore(store: store, collection: collection, options: options, view: view,
                                      checkpoints: checkpoints, stats: stats)
        if let stats {
            view.onEmit = { key, _ in
                stats.record(.subscribeEmit, collection: collection, subjectField: "id", subject: key, resultCount: 1, started: .now)
            }
        }
        // The consumer refuses a snapshot whose position is beyond the store's head (it belongs
        // to another store): open then throws `checkpointAheadOfStore`.
        var onStop: (@Sendable (any Error) -> Void)?
        if let report = options.onViewStopped {
            onStop = { error in report(collection, error) }
        }
        DocumentTracing.outsideTraces { documents.consumer.start(onStop: onStop) }
        do {
            try await documents.consumer.waitUntilCaughtUp(timeout: timeout)
        } catch {
            try? await documents.close()
            throw error
        }
        return documents
    }

    // MARK: Writing

    /// Stores `data` under `key`, replacing any document there (one `document.put` event).
    ///
    /// - Parameters:
    ///   - key: the document's key (its stream is `<collection>-<key>`).
    ///   - data: a JSON object. Its `id` member, if present, must equal `key`; the stored data
    ///     always holds `"id": key`.
    ///   - expectedChanges: optimistic concurrency: the document's current `meta.changes`, or
    ///     `0` for "must not exist". `nil` writes whatever is there.
    /// - Returns: the document as stored, with its meta (`changes` 1 for a new document).
    /// - Throws: `StrataError.wrongExpectedRevision(stream:expected:actual:)` when
    ///   `expectedChanges` does not hold (`expected` and `actual` then count changes; `actual` is
    ///   `nil` when the document does not exist), `StrataError.invalidArgument(_:)` for
    ///   bad input. Nothing is stored when it throws.
    @discardableResult
    public func put(_ key: String, _ data: DocumentValue, expectedChanges: Int? = nil) async throws -> Document {
        let started = statsClock
        let (key, stream) = try prepare(key)
        let data = try Self.validated(data, key: key)
        let event = DocumentEvents.encode(key: key, .put(data))
        let outcome = try await writeOne(key: key, stream: stream, event: event, expectedChanges: expectedChanges)
        guard case .document(let document) = outcome else { throw lostWrite(key) }
        stats?.record(.put, collection: collection, subjectField: "id", subject: key, resultCount: 1, started: started)
        return document
    }

    /// Stores a new document under a generated key (a lower-case UUID).
    @discardableResult
    public func insert(_ data: DocumentValue) async throws -> Document {
        try await put(UUID().uuidString.lowercased(), data, expectedChanges: 0)
    }

    /// Stores several documents in one atomic append (all or none), then waits once for the view:
    /// the fast path for bulk loads. Keys must be distinct.
    @discardableResult
    public func putMany(_ documents: [(key: String, data: DocumentValue)]) async throws -> [Document] {
        let started = statsClock
        guard !documents.isEmpty else { return [] }
        var requests: [AppendRequest] = []
        requests.reserveCapacity(documents.count)
        var keys: [String] = []
        keys.reserveCapacity(documents.count)
        for (key, data) in documents {
            let (key, stream) = try prepare(key)
            let event = DocumentEvents.encode(key: key, .put(try Self.validated(data, key: key)))
            requests.append(AppendRequest(stream: stream, expectedRevision: .any, events: [event]))
            keys.append(key)
        }
        let outcomes = try await write(requests)
        var result: [Document] = []
        result.reserveCapacity(outcomes.count)
        for (key, outcome) in zip(keys, outcomes) {
            guard case .document(let document) = outcome else { throw lostWrite(key) }
            result.append(document)
        }
        stats?.record(.put, collection: collection, subjectField: "id", subject: keys.count == 1 ? keys[0] : "\(keys.count) documents",
                      resultCount: result.count, started: started)
        return result
    }

    /// Merges `partial` into the document (JSON merge patch, RFC 7396: members merge
    /// recursively, `null` removes a member, arrays and other values replace), recorded as one
    /// `document.patch` event so that a replay merges exactly the same way.
    /// - Throws: `StrataError.streamNotFound(_:)` when the document does not exist,
    ///   `StrataError.wrongExpectedRevision(stream:expected:actual:)` as for ``put(_:_:expectedChanges:)``.
    @discardableResult
    public func patch(_ key: String, _ partial: DocumentValue, expectedChanges: Int? = nil) async throws -> Document {
        let started = statsClock
        let (key, stream) = try prepare(key)
        guard case .object(let members) = partial else { throw StrataError.invalidArgument("a patch must be a JSON object") }
        if let id = members["id"], id != .string(key) {
            throw StrataError.invalidArgument("a patch cannot change or remove the document's id")
        }
        try Self.checkFinite(partial)
        guard view.entry(key)?.live == true else { throw StrataError.streamNotFound(stream) }
        let event = DocumentEvents.encode(key: key, .patch(partial))
        let outcome = try await writeOne(key: key, stream: stream, event: event, expectedChanges: expectedChanges)
        guard case .document(let document) = outcome else { throw lostWrite(key) }
        stats?.record(.put, collection: collection, subjectField: "id", subject: key, resultCount: 1, started: started)
        return document
    }

    /// Deletes a document (one `document.delete` event).
    /// - Returns: whether a document was deleted. A key this instance's view does not hold is a
    ///   no-op returning `false` (call ``sync(timeout:)`` first to see other instances' writes),
    ///   unless `expectedChanges` is given.
    @discardableResult
    public func delete(_ key: String, expectedChanges: Int? = nil) async throws -> Bool {
        let started = statsClock
        let (key, stream) = try prepare(key)
        guard expectedChanges != nil || view.entry(key)?.live == true else {
            stats?.record(.delete, collection: collection, subjectField: "id", subject: key, resultCount: 0, started: started)
            return false
        }
        let outcome = try await writeOne(key: key, stream: stream, event: DocumentEvents.encode(key: key, .delete),
                                         expectedChanges: expectedChanges)
        let existed: Bool
        if case .deleted(let e) = outcome { existed = e } else { existed = false }
        stats?.record(.delete, collection: collection, subjectField: "id", subject: key, resultCount: existed ? 1 : 0, started: started)
        return existed
    }

    // MARK: Reading

    /// The document under `key`, or `nil`. Reads this instance's view (no I/O).
    public func get(_ key: String) throws -> Document? {
        let started = statsClock
        try checkOpen()
        let key = try DocumentNaming.normalizeKey(key)
        let document = view.document(key)
        stats?.record(.get, collection: collection, subjectField: "id", subject: key, resultCount: document == nil ? 0 : 1, started: started)
        return document
    }

    /// Documents matching a filter, sorted, paged and projected as `options` say. Traced as a
    /// `strata.documents.query` span (`strata.collection`, `strata.result_count`).
    public func query(_ filter: DocumentFilter, options: QueryOptions = QueryOptions()) throws -> [Document] {
        let started = statsClock
        try checkOpen()
        let result = try DocumentTracing.span("strata.documents.query", collection: collection, results: \.count) {
            try QueryShaping.apply(try view.matching(filter).documents, options: options)
        }
        stats?.record(.query, collection: collection, subjectField: "query", subject: filter.json.jsonString,
                      resultCount: result.count, started: started)
        return result
    }

    /// Documents matching a filter given as JSON (see ``DocumentFilter``).
    public func query(_ filter: DocumentValue, options: QueryOptions = QueryOptions()) throws -> [Document] {
        try query(try DocumentFilter(filter), options: options)
    }

    /// The number of documents matching a filter: always the number `query` returns without
    /// limit and offset (the same evaluator). Traced as a `strata.documents.count` span.
    public func count(_ filter: DocumentFilter = .all) throws -> Int {
        let started = statsClock
        try checkOpen()
        let n = try DocumentTracing.span("strata.documents.count", collection: collection, results: { $0 }) { try view.count(filter) }
        stats?.record(.query, collection: collection, subjectField: "query", subject: filter.json.jsonString, resultCount: n, started: started)
        return n
    }

    /// The number of documents matching a filter given as JSON.
    public func count(_ filter: DocumentValue) throws -> Int { try count(try DocumentFilter(filter)) }

    /// How a query with this filter finds its candidates (an index or a full scan).
    public func explain(_ filter: DocumentFilter) -> QueryPlan { view.plan(filter) }

    /// How a query with this filter (as JSON) finds its candidates.
    public func explain(_ filter: DocumentValue) throws -> QueryPlan { view.plan(try DocumentFilter(filter)) }

    /// The keys in which the regular expression finds a match (unanchored, like JavaScript's
    /// `RegExp.test`; anchor with `^…$`), sorted by their UTF-8 bytes.
    /// - Throws: `StrataError.invalidArgument(_:)` for a pattern over
    ///   ``DocumentStoreOptions/maxKeyPatternBytes`` or invalid, `StrataError.timedOut(_:)`
    ///   when matching takes longer than ``DocumentStoreOptions/keyPatternTimeBudget``.
    public func keys(matching pattern: String) throws -> [String] {
        let started = statsClock
        try checkOpen()
        let matcher = try KeyPattern(regex: pattern, maxBytes: options.maxKeyPatternBytes)
        let result = try matcher.filter(view.liveKeys(), budget: options.keyPatternTimeBudget)
        stats?.record(.keys, collection: collection, subjectField: "pattern", subject: pattern, resultCount: result.count, started: started)
        return result
    }

    /// The keys matching a glob: `*` any run of characters, `?` one character, everything else literal.
    public func keys(glob: String) throws -> [String] {
        try keys(matching: KeyPattern.regex(forGlob: glob))
    }

    /// Every key, sorted by UTF-8 bytes.
    public func keys() throws -> [String] {
        try checkOpen()
        return view.liveKeys().sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    // MARK: Subscribing

    /// Changes to documents matching `filter`, from now on, in the order they are applied.
    ///
    /// A put or patch reaches the subscription when the document matches the filter after the
    /// change or matched it before (then ``DocumentChange/matches`` is `false`: it left the
    /// result set); a delete reaches only subscriptions whose filter matched the deleted document.
    public func subscribe(_ filter: DocumentFilter = .all) throws -> DocumentSubscription {
        let started = statsClock
        try checkOpen()
        let subscription = view.subscribe(filter)
        stats?.record(.subscribe, collection: collection, subjectField: "query", subject: filter.json.jsonString, resultCount: 0, started: started)
        return subscription
    }

    /// Subscribes with a filter given as JSON.
    public func subscribe(_ filter: DocumentValue) throws -> DocumentSubscription { try subscribe(try DocumentFilter(filter)) }

    /// The number of open subscriptions.
    public var subscriptionCount: Int { view.subscriberCount }

    // MARK: Lifecycle

    /// Waits until this instance's view has applied everything in the store now (other
    /// instances' writes included).
    public func sync(timeout: Duration = .seconds(30)) async throws {
        try checkOpen()
        try await consumer.waitUntilProcessed(through: try await store.headPosition(), timeout: timeout)
    }

    /// The view's position, size and health.
    public func status() async throws -> DocumentStoreStatus {
        let consumerStatus = try await consumer.status()
        let (position, documents, parked) = view.withLock { (view.position, view.liveCount, view.parked.count) }
        return DocumentStoreStatus(collection: collection, position: position, head: consumerStatus.head, documents: documents,
                                   parkedEvents: parked, subscriptions: view.subscriberCount,
                                   lastError: consumerStatus.lastError, lastSnapshotError: checkpoints.saveError)
    }

    /// Events the view could not apply (malformed payloads), in position order.
    public func parkedEvents(limit: Int = 100) async throws -> [ParkedEvent] { try await consumer.parked(limit: limit) }

    /// Whether any operation used this collection since the last call (the manager's idle check).
    func takeUsed() -> Bool { lifecycle.takeUsed() }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { lifecycle.isClosed }

    /// Stops the view, saves its snapshot, ends every subscription and flushes stats. The
    /// event store is not closed (it belongs to the caller). Later calls throw `storeClosed`.
    public func close() async throws {
        guard lifecycle.close() else { return }
        await consumer.stop()
        checkpoints.saveSnapshot()
        view.finishSubscriptions()
        await stats?.finish()
        if let error = checkpoints.saveError {
            throw StrataError.io(path: checkpoints.snapshotPath ?? "", operation: "save document view snapshot", reason: error)
        }
    }

    // MARK: Internals

    /// The start of an operation, read only when stats are recorded.
    private var statsClock: ContinuousClock.Instant? { stats == nil ? nil : .now }

    func checkOpen() throws {
        if lifecycle.isClosed { throw StrataError.storeClosed(reason: "document collection \(collection) was closed") }
        lifecycle.touch()
    }

    func prepare(_ key: String) throws -> (key: String, stream: String) {
        try checkOpen()
        let key = try DocumentNaming.normalizeKey(key)
        return (key, try DocumentNaming.stream(collection: collection, key: key))
    }

    func lostWrite(_ key: String) -> StrataError {
        .invalidArgument("the view did not apply the write to \(key); see status() for parked events")
    }

    static func validated(_ data: DocumentValue, key: String) throws -> DocumentValue {
        guard case .object(let members) = data else { throw StrataError.invalidArgument("a document must be a JSON object") }
        if let id = members["id"], id != .string(key) {
            throw StrataError.invalidArgument("the document's id member \(id) differs from its key \"\(key)\"")
        }
        try checkFinite(data)
        return data
    }

    static func checkFinite(_ value: DocumentValue) throws {
        switch value {
        case .double(let d) where !d.isFinite: throw StrataError.invalidArgument("JSON has no infinite or NaN numbers")
        case .array(let a): for v in a { try checkFinite(v) }
        case .object(let o): for v in o.values { try checkFinite(v) }
        default: return
        }
    }

    /// The expected revision that enforces `expectedChanges` (see ``put(_:_:expectedChanges:)``).
    private func expectedRevision(key: String, stream: String, expectedChanges: Int?) throws -> ExpectedRevision {
        guard let expected = expectedChanges else { return .any }
        guard expected >= 0 else { throw StrataError.invalidArgument("expectedChanges must not be negative") }
        let entry = view.entry(key)
        let actual = entry?.live == true ? UInt64(entry!.changes) : nil
        if expected == 0 {
            guard actual == nil else { throw conflict(stream, expected, actual) }
            return entry.map { .exact($0.revision) } ?? .noStream
        }
        guard let entry, actual == UInt64(expected) else { throw conflict(stream, expected, actual) }
        return .exact(entry.revision)
    }

    func conflict(_ stream: String, _ expected: Int, _ actual: UInt64?) -> StrataError {
        .wrongExpectedRevision(stream: stream, expected: .exact(UInt64(expected)), actual: actual)
    }

    private func writeOne(key: String, stream: String, event: EventData, expectedChanges: Int?) async throws -> DocumentView.Outcome {
        let revision = try expectedRevision(key: key, stream: stream, expectedChanges: expectedChanges)
        do {
            return try await write([AppendRequest(stream: stream, expectedRevision: revision, events: [event])])[0]
        } catch StrataError.wrongExpectedRevision(_, _, let actual) where expectedChanges != nil {
            if expectedChanges == 0, actual == nil, case .exact = revision {
                // The tombstoned document's stream was soft-deleted by compaction: it does not exist.
                return try await write([AppendRequest(stream: stream, expectedRevision: .noStream, events: [event])])[0]
            }
            // Another writer got there first: report its changes as this view sees them once caught up.
            try? await sync()
            let entry = view.entry(key)
            throw conflict(stream, expectedChanges!, entry?.live == true ? UInt64(entry!.changes) : nil)
        }
    }

    /// Appends, waits until the view applied the events, and returns what each produced.
    private func write(_ requests: [AppendRequest]) async throws -> [DocumentView.Outcome] {
        try await write(requests, companions: []).outcomes
    }

    /// Appends the document requests (one event each) and `companions` (requests to streams
    /// outside the collection, such as its change stream) in **one** atomic append — all or
    /// none — then waits until the view applied the document events.
    ///
    /// The companions come after the document requests, so their positions are higher.
    /// - Returns: what each document event produced, and the companions' append results.
    func write(_ requests: [AppendRequest], companions: [AppendRequest]) async throws
        -> (outcomes: [DocumentView.Outcome], companions: [AppendResult]) {
        let ids = requests.map { $0.events[0].id }
        view.expect(ids)
        let results: [AppendResult]
        do {
            results = try await store.append(requests + companions)
            // The view's consumer filters on the collection's streams: wait for its own last
            // event, not for a companion it never sees.
            try await consumer.waitUntilProcessed(through: results[requests.count - 1].lastPosition, timeout: options.writeTimeout)
        } catch {
            _ = view.takeOutcomes(ids)
            throw error
        }
        return (view.takeOutcomes(ids), Array(results[requests.count...]))
    }
}

/// A collection's view: where it is, how big, and what went wrong.
public struct DocumentStoreStatus: Sendable, Hashable {
    /// The collection.
    public let collection: String
    /// The `$all` position the view has processed.
    public let position: UInt64
    /// The store's head position.
    public let head: UInt64
    /// Live documents.
    public let documents: Int
    /// Events the view parked (could not decode).
    public let parkedEvents: Int
    /// Open subscriptions.
    public let subscriptions: Int
    /// The consumer's last error.
    public let lastError: String?
    /// The last snapshot save's error, if it failed (the view keeps running and retries).
    public let lastSnapshotError: String?
}
