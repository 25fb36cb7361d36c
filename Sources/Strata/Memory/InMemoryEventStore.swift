import Foundation
import Synchronization

/// A complete event store in memory: fast, for tests, previews and as the reference model that
/// property-based tests compare every backend against. Nothing survives the process.
///
/// ```swift
/// let store = InMemoryEventStore()
/// try await store.append(to: "user-1", event: EventData(type: "registered", json: "{}"))
/// ```
public final class InMemoryEventStore: EventStore {
    /// The log, and whether the store was closed.
    private struct State {
        let log = MemoryLog()
        var closed = false

        func checkOpen() throws {
            if closed { throw StrataError.storeClosed(reason: "close() was called") }
        }
    }

    private let state = Mutex(State())
    private let notifier = AppendNotifier()
    private let limits: EventLimits
    private let clock: @Sendable () -> Int64

    /// Creates an empty store.
    /// - Parameters:
    ///   - limits: per-event limits.
    ///   - clock: the recorded-time source, microseconds since the epoch (tests may inject one).
    public init(limits: EventLimits = .default, clock: @escaping @Sendable () -> Int64 = currentMicroseconds) {
        self.limits = limits
        self.clock = clock
    }

    /// Runs `body` on the log of an open store.
    private func withOpenLog<T: Sendable>(_ body: (MemoryLog) throws -> T) throws -> T {
        try state.withLock { s in
            try s.checkOpen()
            return try body(s.log)
        }
    }

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: limits)
        let now = clock()
        let (results, head) = try withOpenLog { log -> ([AppendResult], UInt64) in
            var planner = AppendPlanner(source: log, head: log.head)
            switch try planner.plan(requests, condition: condition) {
            case .idempotent(let results):
                return (results, log.head)
            case .write(let results, let range):
                for planned in planner.events[range] { log.append(planned, recordedAt: now) }
                return (results, log.head)
            }
        }
        notifier.advance(to: head)
        return results
    }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        let now = clock()
        return try withOpenLog { try $0.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount, nowMicros: now) }
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try withOpenLog { $0.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount) }
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        let now = clock()
        return try withOpenLog { $0.streamInfo(stream, nowMicros: now) }
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try withOpenLog { $0.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount) }
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try withOpenLog { log in
            _ = try log.writeState(of: stream).afterDelete(stream, expected: expectedRevision, mode: mode)
            log.delete(stream, mode: mode)
        }
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try withOpenLog { log in
            try log.writeState(of: stream).checkMetadataChange(of: stream)
            log.setMetadata(metadata, of: stream)
        }
    }

    public func headPosition() async throws -> UInt64 {
        try withOpenLog { $0.head }
    }

    public func stats() async throws -> StoreStats {
        try withOpenLog { log in
            StoreStats(headPosition: log.head, firstPosition: 1, streamCount: log.streams.count, bytesOnDisk: 0,
                       details: ["backend": "memory"])
        }
    }

    /// A random identity, new with every instance (a memory store is a new store each time).
    public func identity() async throws -> StoreIdentity {
        try withOpenLog { _ in storeIdentity }
    }

    private let storeIdentity = StoreIdentity.random()

    public func waitForAppends(after position: UInt64) async throws {
        try await notifier.wait(after: position)
    }

    public func close() async throws {
        state.withLock { $0.closed = true }
        notifier.close()
    }
}
