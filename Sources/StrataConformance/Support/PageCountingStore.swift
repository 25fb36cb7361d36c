import Strata
import Synchronization

/// An ``EventStore`` that forwards to another and counts the `$all` and stream pages read,
/// to show that subscriptions read only as far as their consumer asks.
final class PageCountingStore: EventStore {
    let inner: any EventStore
    private let counts = Mutex((allPages: 0, streamPages: 0))

    init(_ inner: any EventStore) { self.inner = inner }

    var allPageReads: Int { counts.withLock { $0.allPages } }
    var streamPageReads: Int { counts.withLock { $0.streamPages } }

    func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try await inner.append(requests, condition: condition)
    }

    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        counts.withLock { $0.streamPages += 1 }
        return try await inner.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        counts.withLock { $0.allPages += 1 }
        return try await inner.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }

    func streamInfo(_ stream: String) async throws -> StreamInfo { try await inner.streamInfo(stream) }

    func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try await inner.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
    }

    func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try await inner.deleteStream(stream, expectedRevision: expectedRevision, mode: mode)
    }

    func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try await inner.setStreamMetadata(stream, metadata)
    }

    func headPosition() async throws -> UInt64 { try await inner.headPosition() }
    func stats() async throws -> StoreStats { try await inner.stats() }
    func waitForAppends(after position: UInt64) async throws { try await inner.waitForAppends(after: position) }
    func close() async throws { try await inner.close() }
}
