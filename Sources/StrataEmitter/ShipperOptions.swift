import CoreMetrics
import Foundation
import Logging
import Strata
import StrataJSONShapes
import StrataConsumers

/// How an ``EventShipper`` reads, batches and delivers. A value type with defaults, passed once.
public struct ShipperOptions: Sendable {
    /// The receiver's URL, for example `https://events.example.com/ingest` (a Strata server's `POST /ingest`).
    public var endpoint: String
    /// Sent as `Authorization: Bearer <apiKey>` when set.
    public var apiKey: String?
    /// The stream prefixes shipped (default: the outbox stream). Add `cdc-` to ship change
    /// streams too.
    public var streams: [String]
    /// The most events in one POST; a full batch is sent at once.
    public var batchSize: Int
    /// The longest a partial batch waits for more events before it is sent.
    public var flushInterval: Duration
    /// The longest one HTTP request may take.
    public var timeout: Duration
    /// The backoff between failed deliveries of a batch: exponential with jitter, `initialDelay`
    /// is the base and `maxDelay` the cap. A batch is retried until it is delivered:
    /// `maxAttempts` is not used.
    public var backoff: RetryPolicy
    /// When the circuit opens and for how long.
    public var circuitBreaker: CircuitBreakerOptions
    /// The consumer's name: the key of its checkpoint.
    public var name: String
    /// The `source` of shipped events whose metadata has none (events not written by an
    /// ``Emitter``, such as CDC changes). Default: the host name.
    public var defaultSource: SourceIdentity
    /// Where the shipper reports failed deliveries and its circuit breaker opening, probing
    /// and closing (docs/EMITTER.md, "Logging"); nil: nothing is logged.
    public var logger: Logger?
    /// Where the shipper records its metrics (docs/EMITTER.md, "Metrics": batches, events and
    /// failures, the circuit's state, the position delivered through); nil: nowhere.
    public var metrics: (any MetricsFactory)?

    /// Creates options.
    public init(endpoint: String, apiKey: String? = nil, streams: [String] = ["outbox"], batchSize: Int = 100,
                flushInterval: Duration = .seconds(1), timeout: Duration = .seconds(10),
                backoff: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(30), jitter: 0.5),
                circuitBreaker: CircuitBreakerOptions = CircuitBreakerOptions(), name: String = "shipper",
                defaultSource: SourceIdentity = SourceIdentity(id: SourceIdentity.hostName), logger: Logger? = nil,
                metrics: (any MetricsFactory)? = nil) {
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.streams = streams
        self.batchSize = max(1, batchSize)
        self.flushInterval = max(.zero, flushInterval)
        self.timeout = timeout
        self.backoff = backoff
        self.circuitBreaker = circuitBreaker
        self.name = name
        self.defaultSource = defaultSource
        self.logger = logger
        self.metrics = metrics
    }
}

/// What a shipper has done so far (since it was created).
public struct ShipperStatus: Sendable, Hashable {
    /// The circuit breaker's state.
    public var circuit: CircuitState = .closed
    /// Failed requests in a row.
    public var consecutiveFailures = 0
    /// Requests that failed, in all.
    public var failedRequests = 0
    /// Batches delivered.
    public var deliveredBatches = 0
    /// Events in the delivered batches (an event sent again after a restart counts again).
    public var deliveredEvents = 0
    /// The highest position delivered.
    public var deliveredThrough: UInt64 = 0
    /// How many times the circuit opened.
    public var timesOpened = 0
    /// Half-open probe requests sent.
    public var probes = 0
    /// The last delivery error, or `nil` after a success.
    public var lastError: String?
    /// The store position a ``EventShipper/flush(timeout:)`` asked to deliver through.
    var flushThrough: UInt64 = 0
}
