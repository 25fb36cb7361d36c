/// What a subscription delivers.
public enum SubscriptionMessage: Sendable, Hashable {
    /// The next event.
    case event(RecordedEvent)
    /// A filtered `$all` subscription has examined every position up to this one: a consumer
    /// may store it as its checkpoint even though no matching event came.
    case checkpoint(UInt64)
    /// The subscription has delivered everything recorded so far (up to this position for
    /// `$all`, this revision for a stream) and is now live. Sent once.
    case caughtUp(UInt64)

    /// The event, if this message carries one.
    public var event: RecordedEvent? {
        if case .event(let e) = self { return e }
        return nil
    }
}

/// A catch-up subscription: reads from its start, then follows new events live. It is pull
/// based: it reads the next page only when the consumer asks, so a slow consumer holds back
/// reading (back-pressure) and memory stays bounded by one page. Catch-up and live use the same
/// position-ordered reads, so the hand-over can neither skip nor repeat an event.
public struct Subscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionMessage

    /// What a subscription follows.
    public enum Target: Sendable, Hashable {
        /// Every stream, optionally filtered.
        case all(EventFilter)
        /// One stream.
        case stream(String)
    }

    /// Events read per page.
    public static let pageSize = 512

    let store: any EventStore
    let target: Target
    let start: SubscriptionStart

    /// Creates a subscription on a store (the `subscribe` methods of ``EventStore`` call this).
    public init(store: any EventStore, target: Target, start: SubscriptionStart) {
        self.store = store
        self.target = target
        self.start = start
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(store: store, target: target, start: start) }

    /// Only the events, without checkpoints and the caught-up marker.
    public var events: AsyncThrowingCompactMapSequence<Subscription, RecordedEvent> {
        compactMap { $0.event }
    }

    /// The iterator: a cursor, one page of buffered messages, and a wait when at the head.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: any EventStore
        let target: Target
        let start: SubscriptionStart
        /// Next position (for `$all`) or revision (for a stream) to read; nil until resolved.
        var cursor: UInt64?
        var buffer: [SubscriptionMessage] = []
        var index = 0
        var caughtUpSent = false
        /// When the last read reached the head: the head position to wait beyond.
        var waitAfter: UInt64?

        init(store: any EventStore, target: Target, start: SubscriptionStart) {
            self.store = store
            self.target = target
            self.start = start
        }

        /// The next message (see ``next(isolation:)``).
        public mutating func next() async throws -> SubscriptionMessage? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's actor: delivering a buffered message costs no executor hop.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> SubscriptionMessage? {
            while index == buffer.count {
                if Task.isCancelled { return nil }
                buffer.removeAll(keepingCapacity: true)
                index = 0
                if let head = waitAfter {
                    do {
                        try await store.waitForAppends(after: head)
                    } catch is CancellationError {
                        return nil
                    }
                    waitAfter = nil
                }
                do {
                    switch target {
                    case .all(let filter): try await fillFromAll(filter, isolation: actor)
                    case .stream(let name): try await fillFromStream(name, isolation: actor)
                    }
                } catch is CancellationError {
                    // A backend whose reads are cancellable (a network client, a database
                    // driver) ends the subscription like a cancelled wait does.
                    return nil
                }
            }
            defer { index += 1 }
            return buffer[index]
        }

        private mutating func fillFromAll(_ filter: EventFilter, isolation actor: isolated (any Actor)?) async throws {
            if cursor == nil {
                switch start {
                case .start: cursor = 1
                case .after(let p): cursor = p == UInt64.max ? p : p + 1
                case .end: cursor = try await store.headPosition() + 1
                }
            }
            let from = cursor!
            let page = try await store.readAllPage(from: .at(from), direction: .forward, filter: filter, maxCount: Subscription.pageSize)
            assert(Self.isOrdered(page.events.lazy.map(\.position), from: from),
                   "a forward $all page from \(from) is not in increasing position order from it")
            for event in page.events { buffer.append(.event(event)) }
            let lastEvent = page.events.last?.position ?? 0
            if let next = page.next {
                // A page that bounds its work still moves on: no position is read twice, none skipped.
                assert(next > lastEvent && next > from, "a $all page from \(from) continues at \(next), not after it")
                cursor = next
            } else {
                assert(page.events.isEmpty || page.scannedThrough >= lastEvent,
                       "a $all page reports scanning through \(page.scannedThrough) but holds position \(lastEvent)")
                cursor = Swift.max(from, page.scannedThrough + 1)
            }
            if let checkpoint = Subscription.checkpoint(filter: filter, from: from, scannedThrough: page.scannedThrough, lastEvent: lastEvent) {
                buffer.append(.checkpoint(checkpoint))
            }
            if page.next == nil {
                if !caughtUpSent {
                    caughtUpSent = true
                    buffer.append(.caughtUp(page.scannedThrough))
                }
                if page.events.isEmpty { waitAfter = Swift.max(page.scannedThrough, from - 1) }
            }
        }

        /// Whether positions (or revisions) increase strictly, from `from` on (debug assertions).
        static func isOrdered(_ values: some Sequence<UInt64>, from: UInt64) -> Bool {
            var lowest = from
            for value in values {
                guard value >= lowest else { return false }
                lowest = value &+ 1
            }
            return true
        }

        private mutating func fillFromStream(_ name: String, isolation actor: isolated (any Actor)?) async throws {
            let head = try await store.headPosition()
            if cursor == nil {
                switch start {
                case .start: cursor = 1
                case .after(let r): cursor = r == UInt64.max ? r : r + 1
                case .end:
                    let info = try await store.streamInfo(name)
                    if info.isTombstoned { throw StrataError.streamTombstoned(name) }
                    cursor = info.lastRevision + 1
                }
            }
            var page: StreamPage
            do {
                page = try await store.readStreamPage(name, from: .at(cursor!), direction: .forward, maxCount: Subscription.pageSize)
            } catch StrataError.streamNotFound {
                page = StreamPage(events: [], next: nil)
            }
            assert(Self.isOrdered(page.events.lazy.map(\.revision), from: cursor!),
                   "a forward page of stream \(name) from revision \(cursor!) is not in increasing revision order from it")
            for event in page.events { buffer.append(.event(event)) }
            if let last = page.events.last { cursor = last.revision + 1 }
            if let next = page.next { cursor = next }
            if page.next == nil {
                if !caughtUpSent {
                    caughtUpSent = true
                    buffer.append(.caughtUp((cursor ?? 1) - 1))
                }
                if page.events.isEmpty { waitAfter = head }
            }
        }
    }
}

extension Subscription {
    /// The filtered-`$all` checkpoint rule, the one place it is written (every live path of
    /// the server follows it): after reading `$all` with a non-empty `filter` from `from`, a
    /// page that scanned through `scannedThrough` and whose last matching event (0 for none) is
    /// `lastEvent` reports a checkpoint at `scannedThrough` when the scan went past that event,
    /// so that a consumer whose filter matches rarely still moves its checkpoint on.
    /// Unfiltered reads, and pages whose last event is the last position scanned, report none.
    public static func checkpoint(filter: EventFilter, from: UInt64, scannedThrough: UInt64, lastEvent: UInt64) -> UInt64? {
        guard !filter.isEmpty, scannedThrough >= from, scannedThrough > lastEvent else { return nil }
        return scannedThrough
    }
}
