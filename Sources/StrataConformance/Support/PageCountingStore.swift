import Strata
import Synchronization

/// An ``EventStore`` that forwards to another and counts the `$all` and stream pages read,
/// to show that subscriptions read only as far as their consumer asks.
final class PageCountingStore: ForwardingEventStore {
    let inner: any EventStore
    private let counts = Mutex((allPages: 0, streamPages: 0))

    init(_ inner: any EventStore) { self.inner = inner }

    var forwardee: any EventStore { inner }

    var allPageReads: Int { counts.withLock { $0.allPages } }
    var streamPageReads: Int { counts.withLock { $0.streamPages } }

    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        counts.withLock { $0.streamPages += 1 }
        return try await inner.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        counts.withLock { $0.allPages += 1 }
        return try await inner.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }
}
