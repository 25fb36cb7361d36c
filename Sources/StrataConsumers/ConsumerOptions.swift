import CoreMetrics
import Logging
import Strata

/// How a checkpointed consumer reads and what it does with failures.
public struct ConsumerOptions: Sendable {
    /// Which events the consumer receives (stream prefixes, event types). Others are skipped,
    /// and the checkpoint moves past them.
    public var filter: EventFilter
    /// The most events handed to the handler at once (and committed with one checkpoint).
    public var batchSize: Int
    /// How a failing event is retried.
    public var retry: RetryPolicy
    /// What happens after the last attempt: park the event and go on (`true`), or stop the
    /// consumer with the handler's error (`false`).
    public var parkFailures: Bool
    /// Where the consumer reports starting, catching up, retries, parked events and stopping
    /// (docs/CONSUMERS.md, "Logging"); nil: nothing is logged.
    public var logger: Logger?
    /// Where the consumer records its metrics (docs/CONSUMERS.md, "Metrics"); nil: nowhere.
    public var metrics: (any MetricsFactory)?

    /// Creates options.
    public init(filter: EventFilter = EventFilter(), batchSize: Int = 256, retry: RetryPolicy = RetryPolicy(),
                parkFailures: Bool = true, logger: Logger? = nil, metrics: (any MetricsFactory)? = nil) {
        self.filter = filter
        self.batchSize = max(1, batchSize)
        self.retry = retry
        self.parkFailures = parkFailures
        self.logger = logger
        self.metrics = metrics
    }
}

/// Serializes async critical sections (a consumer's batches and parked-event replays) without
/// blocking a thread.
actor AsyncSerialGate {
    private var busy = false
    private var queue: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { queue.append($0) }
    }

    private func release() {
        if queue.isEmpty { busy = false } else { queue.removeFirst().resume() }
    }
}
