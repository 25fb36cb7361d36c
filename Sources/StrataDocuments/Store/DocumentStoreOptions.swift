import Foundation
import CoreMetrics
import Logging

/// How a ``DocumentStore`` keeps its view. A value type with defaults, passed once.
///
/// ```swift
/// var options = DocumentStoreOptions(directory: "./views", indexes: ["email", "address.city"])
/// options.statsStream = "stats-users"
/// ```
public struct DocumentStoreOptions: Sendable {
    /// The folder of the view's snapshot file (`<collection>.view.json`); `nil` keeps the view in
    /// memory only, so every open replays the collection's events.
    public var directory: String?
    /// The fewest positions between two snapshot saves. Saves are also spaced by at least half
    /// the number of documents, so their cost per event stays constant as the view grows.
    public var snapshotEvery: Int
    /// Field paths with a secondary index (`"email"`, `"address.city"`).
    public var indexes: [String]
    /// A stream receiving one `document.stats` event per operation, or `nil` for none.
    public var statsStream: String?
    /// How many changes a subscription may fall behind before it is ended with an error.
    public var subscriptionBufferLimit: Int
    /// The longest regular expression `keys(matching:)` accepts, in UTF-8 bytes.
    public var maxKeyPatternBytes: Int
    /// How long `keys(matching:)` may spend matching before it fails with `timedOut`.
    public var keyPatternTimeBudget: Duration
    /// Events the view applies per batch.
    public var batchSize: Int
    /// How long a write waits for the view to apply its event (read-your-writes).
    public var writeTimeout: Duration
    /// Called when an error stops the view's consumer (a store failure, a snapshot beyond the
    /// store's head): the view then serves what it had applied and no longer follows the store.
    /// Its owner logs it and reports itself unhealthy (the server's `/health/ready`). Not called
    /// when the collection is closed.
    public var onViewStopped: (@Sendable (_ collection: String, _ error: any Error) -> Void)?
    /// Where the view's consumer reports starting, catching up, retries, parked events and
    /// stopping (docs/CONSUMERS.md, "Logging"); nil: nothing is logged.
    public var logger: Logger?
    /// Where the view's consumer records its metrics (docs/CONSUMERS.md, "Metrics"); nil: nowhere.
    public var metrics: (any MetricsFactory)?

    /// Creates options.
    public init(directory: String? = nil, snapshotEvery: Int = 10_000, indexes: [String] = [], statsStream: String? = nil,
                subscriptionBufferLimit: Int = 10_000, maxKeyPatternBytes: Int = 256,
                keyPatternTimeBudget: Duration = .milliseconds(250), batchSize: Int = 1024, writeTimeout: Duration = .seconds(30),
                onViewStopped: (@Sendable (_ collection: String, _ error: any Error) -> Void)? = nil, logger: Logger? = nil,
                metrics: (any MetricsFactory)? = nil) {
        self.directory = directory
        self.snapshotEvery = snapshotEvery
        self.indexes = indexes
        self.statsStream = statsStream
        self.subscriptionBufferLimit = subscriptionBufferLimit
        self.maxKeyPatternBytes = maxKeyPatternBytes
        self.keyPatternTimeBudget = keyPatternTimeBudget
        self.batchSize = batchSize
        self.writeTimeout = writeTimeout
        self.onViewStopped = onViewStopped
        self.logger = logger
        self.metrics = metrics
    }
}
