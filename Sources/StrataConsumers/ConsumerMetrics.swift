import CoreMetrics

/// A checkpointed consumer's metrics (docs/CONSUMERS.md, "Metrics"), each with the dimension
/// `consumer`. Without a factory they go nowhere.
struct ConsumerMetrics: Sendable {
    /// `strata_consumer_events_handled_total`
    let handled: Counter
    /// `strata_consumer_retries_total`
    let retries: Counter
    /// `strata_consumer_parked_total`
    let parked: Counter
    /// `strata_consumer_stops_total`: stops by an error.
    let stops: Counter
    /// `strata_consumer_position`: the position handled through (compare with the store's head
    /// for the lag).
    let position: Gauge

    init(factory: (any MetricsFactory)?, consumer: String) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("consumer", consumer)]
        handled = Counter(label: "strata_consumer_events_handled_total", dimensions: dimensions, factory: factory)
        retries = Counter(label: "strata_consumer_retries_total", dimensions: dimensions, factory: factory)
        parked = Counter(label: "strata_consumer_parked_total", dimensions: dimensions, factory: factory)
        stops = Counter(label: "strata_consumer_stops_total", dimensions: dimensions, factory: factory)
        position = Gauge(label: "strata_consumer_position", dimensions: dimensions, factory: factory)
    }
}
