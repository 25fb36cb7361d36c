import Foundation
import CoreMetrics
import Logging
import Strata
import StrataStorage

/// The embedded event store: one data directory of append-only segment files with CRC-checked
/// records, group commit, crash recovery and checkpointed indexes. The default backend.
///
/// ```swift
/// let store = try LogEventStore(directory: "./strata-data")
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: #"{"total":42}"#)])
/// for try await event in store.readAll() { print(event.position, event.type) }
/// try await store.close()
/// ```
///
/// Several processes may open the same directory: each appends under the directory lock in
/// turn, and each sees the others' events (subscriptions follow them within milliseconds).
public final class LogEventStore: EventStore {
    let engine: LogEngine

    /// Opens (or creates) the store in `directory`, recovering from a crash if needed: a torn
    /// tail is cut, indexes are loaded from their checkpoint or rebuilt from the log.
    ///
    /// - Throws: `StrataError.unsupportedFormat(path:found:supported:)` for a directory of
    ///   another format or version, `StrataError.corruption(path:offset:reason:)` when damage
    ///   is found that is not a torn tail, `StrataError.io(path:operation:reason:)`.
    ///
    /// - Parameter directory: the store's folder (created when missing).
    /// - Parameter configuration: durability, segments, compression and retention.
    /// - Parameter fileSystem: where the files live: the real file system (the default), or a
    ///   `SimulatedDisk`'s for crash and fault tests.
    /// - Parameter logger: where the engine reports opening (with recovery), torn tails cut,
    ///   segment rolls, compressions, retention and failures (docs/ENGINE.md, "Logging");
    ///   by default nothing is logged.
    /// - Parameter metrics: where the engine records its counters, timers and gauges
    ///   (docs/ENGINE.md, "Metrics"); by default nowhere.
    public init(directory: String, configuration: LogConfiguration = LogConfiguration(),
                fileSystem: any FileSystem = POSIXFileSystem(), logger: Logger? = nil,
                metrics: (any MetricsFactory)? = nil) throws {
        engine = try LogEngine(directory: directory, configuration: configuration, fileSystem: fileSystem,
                               logger: logger ?? LogEngine.silentLogger, metrics: metrics)
        engine.startWriter()
    }

    /// Checks every byte of a store's segments and reports each problem with its file and
    /// offset. Safe to run while another process uses the store.
    public static func verify(directory: String, fileSystem: any FileSystem = POSIXFileSystem(),
                              progress: (@Sendable (VerifyProgress) -> Void)? = nil) throws -> VerifyReport {
        try LogVerifier.verify(directory: directory, fileSystem: fileSystem, progress: progress)
    }

    /// The data directory.
    public var directory: String { engine.directory }

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: engine.configuration.limits)
        try engine.checkUsable()
        return try await engine.submit(.append(requests, condition: condition))
    }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        try await engine.refreshIfNeeded()
        return try engine.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try await engine.refreshIfNeeded()
        return try engine.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        try await engine.refreshIfNeeded()
        return try engine.streamInfo(stream)
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try await engine.refreshIfNeeded()
        return engine.withIndexLock {
            let names = engine.index.sortedStreamNames()
            var lo = 0
            if let after {
                var hi = names.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if StreamOrder.less(after, names[mid]) { hi = mid } else { lo = mid + 1 }
                }
            } else if !prefix.isEmpty {
                var hi = names.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if StreamOrder.less(names[mid], prefix) { lo = mid + 1 } else { hi = mid }
                }
            }
            var out: [String] = []
            while lo < names.count && out.count < maxCount {
                let name = names[lo]
                if name.utf8.starts(with: prefix.utf8) {
                    out.append(name)
                } else if StreamOrder.less(prefix, name) {
                    break
                }
                lo += 1
            }
            return out
        }
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try engine.checkUsable()
        _ = try await engine.submit(.delete(stream: stream, expected: expectedRevision, mode: mode))
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try engine.checkUsable()
        _ = try await engine.submit(.setMetadata(stream: stream, metadata: metadata))
    }

    public func headPosition() async throws -> UInt64 {
        try await engine.refreshIfNeeded()
        return engine.withIndexLock { engine.index.head }
    }

    public func stats() async throws -> StoreStats {
        try await engine.refreshIfNeeded()
        return engine.stats()
    }

    /// The identity in the directory's manifest (docs/FORMAT.md, "The manifest").
    public func identity() async throws -> StoreIdentity {
        try engine.checkUsable()
        return engine.identity
    }

    public func waitForAppends(after position: UInt64) async throws {
        while true {
            try await engine.refreshIfNeeded()
            if engine.withIndexLock({ engine.index.head }) > position { return }
            // In-process appends wake the notifier at once; the timeout bounds how long an
            // append by another process waits to be noticed.
            try await engine.notifier.wait(after: position, timeout: .milliseconds(10))
            try engine.checkUsable()
        }
    }

    public func close() async throws {
        if engine.withIndexLock({ engine.closed }) { return }
        _ = try await engine.queue.submitFinal(.close)
    }
}
