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
    /// Events SQLite appends in batches of 1000 (sync off and full) and singly with sync full.
    public var sqliteBatchNone: Int
    public var sqliteBatchFsync: Int
    public var sqliteSingleFsync: Int
    /// Iterations of the raw write + fdatasync baseline.
    public var baselineIterations: Int

    /// The full run: figures comparable to the targets in docs/BENCHMARKS.md.
    public static let full = BenchScale(
        appendNone: [1: 200_000, 100: 1_000_000, 1000: 2_000_000],
        appendFsync: [1: 2_000, 100: 200_000, 1000: 1_000_000],
        singlePerAppender: [1: 2_000, 64: 500],
        concurrentBatches: 200_000,
        readEvents: 1_000_000, readStreams: 1_000,
        latencySamples: 5_000,
        openSmall: 1_000_000, openLarge: 10_000_000,
        sqliteBatchNone: 500_000, sqliteBatchFsync: 200_000, sqliteSingleFsync: 2_000,
        baselineIterations: 200
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
        sqliteBatchNone: 100_000, sqliteBatchFsync: 50_000, sqliteSingleFsync: 300,
        baselineIterations: 50
    )
}
