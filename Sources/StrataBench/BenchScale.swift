/// How many events each workload handles: every workload is bounded by count.
public struct BenchScale: Sendable, Hashable {
    /// Events appended in batches of 1, 100, 1000 with durability none.
    public var appendNone: [Int: Int]
    /// Events appended in batches of 1, 100, 1000 with durability fsync.
    public var appendFsync: [Int: Int]
    /// Single-event appends per appender with fsync, for 1 and 64 concurrent appenders.
    public var singlePerAppender: [Int: Int]
    /// Events 8 concurrent writers append in batches of 10 (the PostgreSQL key figure).
    public var concurrentBatches: Int = 200_000
    /// Events in the store the read workloads read.
    public var readEvents: Int
    /// Streams the read store spreads its events over.
    public var readStreams: Int
    /// Subscription latency samples (after warm-up).
    public var latencySamples: Int
    /// Events of the stores behind `open.1m` and `open.10m`.
    public var openSmall: Int
    public var openLarge: Int
    /// Events raw SQLite appends in batches of 1000 (sync off and full) and singly with sync full:
    /// the counts of the matching `append.*` workloads, so that each ratio compares tables of
    /// the same size (an index's insert cost grows with the table).
    public var sqliteBatchNone: Int
    public var sqliteBatchFsync: Int
    public var sqliteSingleFsync: Int
    /// Iterations of the raw write + fdatasync baseline.
    public var baselineIterations: Int
    /// Events of the stream typed replay folds into an aggregate.
    public var modelReplayEvents: Int = 1_000_000
    /// Events a projector replays.
    public var projectorEvents: Int = 200_000
    /// Payloads decoded and encoded by StrataJSON in `json.*` (Foundation's coders do a fifth).
    public var jsonEvents: Int
    /// Documents the document workloads put, get and query.
    public var documentCount: Int = 1_000_000
    /// Events emitted into the emitter's outbox in `emitter.emit`.
    public var emitterEvents: Int = 1_000_000
    /// Events shipped to a local server in `emitter.ship.*`.
    public var shippedEvents: Int = 100_000
    /// Events the lakehouse export workloads write (`export.jsonl`, `export.gzip`).
    public var lakehouseEvents: Int = 1_000_000

    /// The full run: figures comparable to the targets in docs/BENCHMARKS.md.
    public static let full = BenchScale(
        appendNone: [1: 200_000, 100: 1_000_000, 1000: 2_000_000],
        appendFsync: [1: 2_000, 100: 200_000, 1000: 1_000_000],
        singlePerAppender: [1: 2_000, 64: 500],
        concurrentBatches: 200_000,
        readEvents: 1_000_000, readStreams: 1_000,
        latencySamples: 5_000,
        openSmall: 1_000_000, openLarge: 10_000_000,
        sqliteBatchNone: 2_000_000, sqliteBatchFsync: 1_000_000, sqliteSingleFsync: 2_000,
        baselineIterations: 200,
        jsonEvents: 1_000_000
    )

    /// A quick run (about a tenth of the work); `open.1m` and `open.10m` use 100k and 1M events.
    public static let quick = BenchScale(
        appendNone: [1: 20_000, 100: 100_000, 1000: 200_000],
        appendFsync: [1: 300, 100: 20_000, 1000: 100_000],
        singlePerAppender: [1: 300, 64: 100],
        concurrentBatches: 40_000,
        readEvents: 200_000, readStreams: 200,
        latencySamples: 1_000,
        openSmall: 100_000, openLarge: 1_000_000,
        sqliteBatchNone: 200_000, sqliteBatchFsync: 100_000, sqliteSingleFsync: 300,
        baselineIterations: 50,
        modelReplayEvents: 200_000, projectorEvents: 50_000,
        jsonEvents: 200_000, documentCount: 100_000,
        lakehouseEvents: 200_000
    )
}
