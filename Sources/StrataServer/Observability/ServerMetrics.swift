import CoreMetrics
import Foundation
import Metrics
import Prometheus
import StrataConsumers
import Synchronization

/// The server's metrics, recorded through swift-metrics into this server's own Prometheus
/// registry (so several servers in one process keep separate figures). Names are listed in
/// docs/SERVER.md.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let eventsAppended: Metrics.Counter
    let appendRequests: Metrics.Counter
    let appendConflicts: Metrics.Counter
    let readRequests: Metrics.Counter
    let eventsRead: Metrics.Counter
    let eventsDelivered: Metrics.Counter
    let subscribers: Metrics.Gauge
    let headPosition: Metrics.Gauge
    let subscriptionLag: Metrics.Recorder
    let appendDuration: Metrics.Timer
    let readDuration: Metrics.Timer
    let requestDuration: Metrics.Timer
    let rejectedRequests: Metrics.Counter
    /// `strata_background_stops_total{component=…}`: stops of the store and background consumers.
    private let backgroundStops: [String: Metrics.Counter]

    /// The gauges of each persistent subscription group run here, by its `subscription` label.
    private let subscriptionGauges = Mutex<[String: [Prometheus.Gauge]]>([:])

    /// The per-group gauges (docs/SERVER.md, "Metrics"), in the order ``subscriptionValues(_:)`` gives their values.
    private static let subscriptionSeries: [(name: String, help: String)] = [
        ("in_flight", "Events handed out and not yet acked or nacked"),
        ("read_buffer", "Events read ahead and not yet handed out"),
        ("retry_buffer", "Events waiting to be handed out again"),
        ("parked", "Events parked"),
        ("last_checkpoint", "The saved checkpoint: a revision (stream) or position ($all)"),
        ("last_known_event", "The last revision (stream) or position ($all) read"),
        ("connections", "Consumers connected"),
        ("acked", "Events acked since the group started on this instance"),
        ("nacked", "Events nacked since the group started on this instance"),
        ("timed_out", "Events whose message timeout passed since the group started on this instance"),
    ]

    private static func subscriptionValues(_ stats: PersistentSubscriptionStats) -> [Int64] {
        [Int64(stats.inFlightCount), Int64(stats.readBufferCount), Int64(stats.retryBufferCount), Int64(stats.parkedCount),
         Int64(clamping: stats.lastCheckpoint ?? 0), Int64(clamping: stats.lastKnownEvent), Int64(stats.connections.count),
         Int64(clamping: stats.totalAcked), Int64(clamping: stats.totalNacked), Int64(clamping: stats.totalTimedOut)]
    }

    /// Sets the gauges of the persistent subscription groups run here (`/metrics` calls it
    /// before each exposition); the series of groups no longer run here are removed.
    func recordSubscriptions(_ all: [PersistentSubscriptionStats]) {
        let registry = self.registry
        subscriptionGauges.withLock { gauges in
            var seen = Set<String>()
            for stats in all {
                let label = stats.name.description
                seen.insert(label)
                let series = gauges[label] ?? Self.subscriptionSeries.map { series in
                    registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "strata", subsystem: "persistent_subscription",
                                                                       metricName: series.name, unitName: "", helpText: series.help),
                                       labels: [("subscription", label)])
                }
                gauges[label] = series
                for (gauge, value) in zip(series, Self.subscriptionValues(stats)) { gauge.set(value) }
            }
            for (label, series) in gauges where !seen.contains(label) {
                for gauge in series { registry.unregisterGauge(gauge) }
                gauges[label] = nil
            }
        }
    }

    /// Events appended per second over the last few seconds, for `/stats`.
    private let rate = Mutex(AppendRate())
    /// The highest head this server has seen (for lag without a store call per event).
    private let knownHead = Atomic<UInt64>(0)

    /// - Parameter registry: a registry to share with the store and other components (their
    ///   metrics then appear on `/metrics` too); nil: a registry of this server's own.
    init(registry: PrometheusCollectorRegistry? = nil) {
        self.registry = registry ?? PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: self.registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.valueHistogramBuckets["strata_subscription_lag_events"] = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
        eventsAppended = Metrics.Counter(label: "strata_events_appended_total", factory: factory)
        appendRequests = Metrics.Counter(label: "strata_append_requests_total", factory: factory)
        appendConflicts = Metrics.Counter(label: "strata_append_conflicts_total", factory: factory)
        readRequests = Metrics.Counter(label: "strata_read_requests_total", factory: factory)
        eventsRead = Metrics.Counter(label: "strata_events_read_total", factory: factory)
        eventsDelivered = Metrics.Counter(label: "strata_events_delivered_total", factory: factory)
        subscribers = Metrics.Gauge(label: "strata_subscribers", factory: factory)
        headPosition = Metrics.Gauge(label: "strata_head_position", factory: factory)
        subscriptionLag = Metrics.Recorder(label: "strata_subscription_lag_events", factory: factory)
        appendDuration = Metrics.Timer(label: "strata_append_duration_seconds", factory: factory)
        readDuration = Metrics.Timer(label: "strata_read_duration_seconds", factory: factory)
        requestDuration = Metrics.Timer(label: "strata_http_request_duration_seconds", factory: factory)
        rejectedRequests = Metrics.Counter(label: "strata_rejected_requests_total", factory: factory)
        // One series per component from the start, so that an alert can compare with 0.
        var stops: [String: Metrics.Counter] = [:]
        for kind in ServerHealth.Kind.allCases {
            stops[kind.rawValue] = Metrics.Counter(label: "strata_background_stops_total", dimensions: [("component", kind.rawValue)], factory: factory)
        }
        backgroundStops = stops
    }

    /// Counts a stop of the store or of a background consumer (``ServerHealth``).
    func backgroundStopped(_ component: String) {
        backgroundStops[component]?.increment()
    }

    /// Records a successful append of `count` events ending at `lastPosition`.
    func appended(_ count: Int, lastPosition: UInt64, duration: Duration) {
        eventsAppended.increment(by: count)
        appendRequests.increment()
        appendDuration.record(duration: duration)
        sawHead(lastPosition)
        let now = ContinuousClock.now
        rate.withLock { $0.add(count, at: now) }
    }

    /// Notes a head position seen by a read or an append.
    func sawHead(_ position: UInt64) {
        let (_, newValue) = knownHead.max(position, ordering: .relaxed)
        headPosition.record(Int64(clamping: newValue))
    }

    /// Records the delivery of one event to a subscriber.
    func delivered(position: UInt64) {
        eventsDelivered.increment()
        let head = knownHead.load(ordering: .relaxed)
        subscriptionLag.record(Int64(clamping: head > position ? head - position : 0))
    }

    /// Events appended per second, averaged over the last five whole seconds.
    var appendsPerSecond: Double { rate.withLock { $0.perSecond(at: .now) } }

    /// The Prometheus text exposition.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// Counts per second in a ring of the last few seconds.
struct AppendRate {
    private static let window = 5
    private var counts = [Int](repeating: 0, count: AppendRate.window + 1)
    private var seconds = [Int64](repeating: -1, count: AppendRate.window + 1)
    private let origin = ContinuousClock.now

    private func second(_ now: ContinuousClock.Instant) -> Int64 { (now - origin).components.seconds }

    mutating func add(_ n: Int, at now: ContinuousClock.Instant) {
        let s = second(now)
        let slot = Int(s % Int64(counts.count))
        if seconds[slot] != s {
            seconds[slot] = s
            counts[slot] = 0
        }
        counts[slot] += n
    }

    func perSecond(at now: ContinuousClock.Instant) -> Double {
        let current = second(now)
        var total = 0
        for i in 0..<counts.count where seconds[i] >= current - Int64(AppendRate.window) && seconds[i] < current {
            total += counts[i]
        }
        return Double(total) / Double(AppendRate.window)
    }
}
