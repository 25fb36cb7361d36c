import CoreMetrics

/// The log engine's metrics (docs/ENGINE.md, "Metrics"), through a swift-metrics factory; every
/// metric carries the dimension `store` (the data directory). Without a factory they go nowhere.
struct EngineMetrics: Sendable {
    /// `strata_log_events_appended_total`
    let eventsAppended: Counter
    /// `strata_log_batches_total`: write batches (group commits).
    let batches: Counter
    /// `strata_log_batch_events`: events per write batch.
    let batchEvents: Recorder
    /// `strata_log_bytes_written_total`
    let bytesWritten: Counter
    /// `strata_log_fsync_seconds`: each `fdatasync` of a segment.
    let fsync: Timer
    /// `strata_log_failures_total`: failed writes or syncs (each stops the store).
    let failures: Counter
    /// `strata_log_torn_tails_cut_total`: interrupted writes cut on recovery.
    let tornTailsCut: Counter
    /// `strata_log_segments`: segments of the store.
    let segments: Gauge
    /// `strata_log_head_position`
    let head: Gauge
    /// `strata_log_scavenged_events_total`: events scavenges and erasures removed.
    let scavengedEvents: Counter
    /// `strata_log_scavenged_bytes_total`: segment bytes scavenges and erasures reclaimed.
    let scavengedBytes: Counter

    init(factory: (any MetricsFactory)?, store: String) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("store", store)]
        eventsAppended = Counter(label: "strata_log_events_appended_total", dimensions: dimensions, factory: factory)
        batches = Counter(label: "strata_log_batches_total", dimensions: dimensions, factory: factory)
        batchEvents = Recorder(label: "strata_log_batch_events", dimensions: dimensions, aggregate: true, factory: factory)
        bytesWritten = Counter(label: "strata_log_bytes_written_total", dimensions: dimensions, factory: factory)
        fsync = Timer(label: "strata_log_fsync_seconds", dimensions: dimensions, factory: factory)
        failures = Counter(label: "strata_log_failures_total", dimensions: dimensions, factory: factory)
        tornTailsCut = Counter(label: "strata_log_torn_tails_cut_total", dimensions: dimensions, factory: factory)
        segments = Gauge(label: "strata_log_segments", dimensions: dimensions, factory: factory)
        head = Gauge(label: "strata_log_head_position", dimensions: dimensions, factory: factory)
        scavengedEvents = Counter(label: "strata_log_scavenged_events_total", dimensions: dimensions, factory: factory)
        scavengedBytes = Counter(label: "strata_log_scavenged_bytes_total", dimensions: dimensions, factory: factory)
    }

    /// Records an fsync that started at `started`.
    func recordFsync(since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        fsync.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
