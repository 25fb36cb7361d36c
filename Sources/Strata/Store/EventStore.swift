/// The contract every Strata backend implements: memory, the embedded log, and later SQL and
/// JetStream backends. The requirements are the primitives a backend provides; the everyday API
/// (single-stream appends, streaming reads, subscriptions) lives in extensions built on them,
/// so it behaves the same on every backend.
///
/// ```swift
/// let store = InMemoryEventStore()
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: #"{"total":5}"#)])
/// for try await event in store.readStream("order-1") { print(event.type) }
/// ```
public protocol EventStore: Sendable {
    /// Appends to one or more streams atomically: every request's events are stored, with
    /// contiguous positions in request order, or none are.
    ///
    /// - Throws: ``StrataError/wrongExpectedRevision(stream:expected:actual:)`` when a stream is
    ///   not as expected, ``StrataError/appendConditionFailed(position:)`` when `condition`
    ///   fails, ``StrataError/eventIdReused(id:stream:)`` for a reused id, validation errors for
    ///   bad input, ``StrataError/streamTombstoned(_:)`` for a hard-deleted stream.
    ///   Nothing is stored when it throws.
    func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult]

    /// Reads up to `maxCount` events of one stream from `origin` in `direction`, honouring the
    /// stream's metadata and deletion.
    /// - Throws: ``StrataError/streamNotFound(_:)``, ``StrataError/streamTombstoned(_:)``.
    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage

    /// Reads up to `maxCount` events of `$all` that pass `filter`, from `origin` in `direction`.
    /// A backend may return fewer events (even none) with a non-nil `next` to bound the work of
    /// one page when the filter skips many events.
    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage

    /// What the store knows of a stream; a stream never written reports `exists == false`.
    func streamInfo(_ stream: String) async throws -> StreamInfo

    /// Up to `maxCount` names of existing streams that start with `prefix`, in ascending byte
    /// order, after `after` when given.
    func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String]

    /// Deletes a stream. `.soft`: reads say not found, appending recreates it, revisions are not
    /// reused. `.tombstone`: the stream can never be written again.
    func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws

    /// Replaces a stream's metadata (`maxCount`, `maxAge`, `truncateBefore`, custom JSON).
    func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws

    /// The position of the last event in the store (0 when empty).
    func headPosition() async throws -> UInt64

    /// Store-wide figures.
    func stats() async throws -> StoreStats

    /// The store's identity: recorded when the store was created and the same for every
    /// process and every copy (a backup restored elsewhere is the same store). Checkpoints are
    /// bound to it, so that a checkpoint folder pointed at another store is refused
    /// (docs/CONTRACT.md, "Store identity").
    func identity() async throws -> StoreIdentity

    /// Returns once the head position is greater than `position`, or earlier (callers re-check).
    /// Throws `CancellationError` when the calling task is cancelled.
    func waitForAppends(after position: UInt64) async throws

    /// Finishes pending work and releases resources. Later calls throw ``StrataError/storeClosed(reason:)``.
    func close() async throws
}

extension EventStore {
    /// Appends events to one stream atomically.
    ///
    /// ```swift
    /// let result = try await store.append(to: "cart-7", expectedRevision: .noStream,
    ///                                     events: [EventData(type: "created", json: "{}")])
    /// ```
    @discardableResult
    public func append(to stream: String, expectedRevision: ExpectedRevision = .any, events: [EventData],
                       condition: AppendCondition? = nil) async throws -> AppendResult {
        let results = try await append([AppendRequest(stream: stream, expectedRevision: expectedRevision, events: events)], condition: condition)
        return results[0]
    }

    /// Appends one event to one stream.
    @discardableResult
    public func append(to stream: String, expectedRevision: ExpectedRevision = .any, event: EventData) async throws -> AppendResult {
        try await append(to: stream, expectedRevision: expectedRevision, events: [event])
    }

    /// Appends to several streams atomically, without a condition.
    @discardableResult
    public func append(_ requests: [AppendRequest]) async throws -> [AppendResult] {
        try await append(requests, condition: nil)
    }

    /// Streams the events of one stream. Nothing is buffered beyond one page.
    ///
    /// - Parameters:
    ///   - stream: the stream's name.
    ///   - origin: the first revision to read (inclusive), or `.start` / `.end`.
    ///   - direction: forwards (oldest first) or backwards (newest first).
    ///   - limit: the most events to return; `nil` for all.
    public func readStream(_ stream: String, from origin: ReadOrigin = .start, direction: ReadDirection = .forward,
                           limit: Int? = nil) -> EventSequence {
        EventSequence(origin: origin, limit: limit) { origin, count in
            let page = try await self.readStreamPage(stream, from: origin, direction: direction, maxCount: count)
            return (page.events, page.next.map(ReadOrigin.at))
        }
    }

    /// Streams the events of `$all` (every stream, in position order), optionally filtered.
    public func readAll(from origin: ReadOrigin = .start, direction: ReadDirection = .forward,
                        filter: EventFilter = EventFilter(), limit: Int? = nil) -> EventSequence {
        EventSequence(origin: origin, limit: limit) { origin, count in
            let page = try await self.readAllPage(from: origin, direction: direction, filter: filter, maxCount: count)
            return (page.events, page.next.map(ReadOrigin.at))
        }
    }

    /// Subscribes to `$all`: catches up from `start`, then delivers new events live, with no gap
    /// and no duplicate at the hand-over. A filtered subscription also reports checkpoints.
    public func subscribeToAll(from start: SubscriptionStart = .start, filter: EventFilter = EventFilter()) -> Subscription {
        Subscription(store: self, target: .all(filter), start: start)
    }

    /// Subscribes to one stream: catches up from `start` (a revision), then goes live. A stream
    /// that does not exist yet is waited for.
    public func subscribe(toStream stream: String, from start: SubscriptionStart = .start) -> Subscription {
        Subscription(store: self, target: .stream(stream), start: start)
    }

    /// Streams the names of existing streams with the given prefix, in ascending byte order.
    public func listStreams(prefix: String = "") -> StreamNameSequence {
        StreamNameSequence { after, count in
            try await self.listStreamsPage(prefix: prefix, after: after, maxCount: count)
        }
    }
}
