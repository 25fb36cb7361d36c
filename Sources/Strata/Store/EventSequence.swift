/// An `AsyncSequence` of recorded events that fetches one page at a time: a read never holds
/// more than one page in memory, whatever the size of the result.
public struct EventSequence: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    /// Fetches up to `count` events from `origin`; returns them and where to continue (nil at the end).
    public typealias PageFetch = @Sendable (_ origin: ReadOrigin, _ count: Int) async throws -> ([RecordedEvent], ReadOrigin?)

    /// The number of events fetched per page.
    public static let pageSize = 1024

    let origin: ReadOrigin
    let limit: Int?
    let fetch: PageFetch

    /// Creates a sequence from a page-fetching function (for backends and adapters).
    public init(origin: ReadOrigin, limit: Int?, fetch: @escaping PageFetch) {
        self.origin = origin
        self.limit = limit
        self.fetch = fetch
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(next: origin, remaining: limit ?? Int.max, fetch: fetch)
    }

    /// Reads the whole sequence into an array (for small results and tests).
    public func collect() async throws -> [RecordedEvent] {
        var all: [RecordedEvent] = []
        for try await event in self { all.append(event) }
        return all
    }

    /// The iterator: a page buffer and a cursor.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: [RecordedEvent] = []
        var index = 0
        var next: ReadOrigin?
        var remaining: Int
        let fetch: PageFetch

        init(next: ReadOrigin?, remaining: Int, fetch: @escaping PageFetch) {
            self.next = next
            self.remaining = remaining
            self.fetch = fetch
        }

        /// The next event (see ``next(isolation:)``).
        public mutating func next() async throws -> RecordedEvent? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's actor, so iterating costs no executor hop per event (only the
        /// page fetch, once per page, leaves it).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> RecordedEvent? {
            while index == buffer.count {
                guard remaining > 0, let origin = next else { return nil }
                try Task.checkCancellation()
                let (events, following) = try await fetch(origin, Swift.min(remaining, EventSequence.pageSize))
                buffer = events
                index = 0
                next = following
            }
            remaining -= 1
            defer { index += 1 }
            return buffer[index]
        }
    }
}

/// An `AsyncSequence` of stream names, fetched a page at a time.
public struct StreamNameSequence: AsyncSequence, Sendable {
    public typealias Element = String
    let fetch: @Sendable (_ after: String?, _ count: Int) async throws -> [String]

    init(fetch: @escaping @Sendable (_ after: String?, _ count: Int) async throws -> [String]) { self.fetch = fetch }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch) }

    /// Reads every name into an array.
    public func collect() async throws -> [String] {
        var all: [String] = []
        for try await name in self { all.append(name) }
        return all
    }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: @Sendable (_ after: String?, _ count: Int) async throws -> [String]
        var buffer: [String] = []
        var index = 0
        var last: String?
        var finished = false

        /// The next name (see ``next(isolation:)``).
        public mutating func next() async throws -> String? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's actor (no executor hop per name).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> String? {
            if index == buffer.count {
                if finished { return nil }
                buffer = try await fetch(last, 512)
                index = 0
                if buffer.count < 512 { finished = true }
                if buffer.isEmpty { return nil }
            }
            defer { index += 1 }
            last = buffer[index]
            return buffer[index]
        }
    }
}
