/// A store that wraps another and hands it every operation it does not change itself: a
/// decorator (tracing, schema validation, tests' instrumented stores). Conform, provide
/// ``forwardee``, and implement only the operations you change; every other requirement of
/// ``EventStore`` forwards unchanged.
///
/// ```swift
/// struct CountingStore: ForwardingEventStore {
///     let forwardee: any EventStore
///     func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
///         print("appending \(requests.count) requests")
///         return try await forwardee.append(requests, condition: condition)
///     }
/// }
/// ```
public protocol ForwardingEventStore: EventStore {
    /// The store operations go to.
    var forwardee: any EventStore { get }
}

extension ForwardingEventStore {
    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try await forwardee.append(requests, condition: condition)
    }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try await forwardee.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try await forwardee.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try await forwardee.streamInfo(stream)
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try await forwardee.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try await forwardee.deleteStream(stream, expectedRevision: expectedRevision, mode: mode)
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try await forwardee.setStreamMetadata(stream, metadata)
    }

    public func headPosition() async throws -> UInt64 {
        try await forwardee.headPosition()
    }

    public func stats() async throws -> StoreStats {
        try await forwardee.stats()
    }

    public func identity() async throws -> StoreIdentity {
        try await forwardee.identity()
    }

    public func waitForAppends(after position: UInt64) async throws {
        try await forwardee.waitForAppends(after: position)
    }

    public func close() async throws {
        try await forwardee.close()
    }
}
