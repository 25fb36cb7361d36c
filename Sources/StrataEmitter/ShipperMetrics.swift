import CoreMetrics

/// A shipper's metrics (docs/EMITTER.md, "Metrics"), each with the dimension `shipper`.
/// Without a factory they go nowhere.
struct ShipperMetrics: Sendable {
    /// `strata_shipper_batches_total`: batches delivered.
    let batches: Counter
    /// `strata_shipper_events_total`: events delivered.
    let events: Counter
    /// `strata_shipper_failures_total`: failed delivery requests.
    let failures: Counter
    /// `strata_shipper_circuit_state`: 0 closed, 1 half-open, 2 open.
    let circuit: Gauge
    /// `strata_shipper_position`: the position delivered through (compare with the store's head
    /// for the lag).
    let position: Gauge

    init(factory: (any MetricsFactory)?, shipper: String) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("shipper", shipper)]
        batches = Counter(label: "strata_shipper_batches_total", dimensions: dimensions, factory: factory)
        events = Counter(label: "strata_shipper_events_total", dimensions: dimensions, factory: factory)
        failures = Counter(label: "strata_shipper_failures_total", dimensions: dimensions, factory: factory)
        circuit = Gauge(label: "strata_shipper_circuit_state", dimensions: dimensions, factory: factory)
        position = Gauge(label: "strata_shipper_position", dimensions: dimensions, factory: factory)
    }

    func record(_ state: CircuitState) {
        switch state {
        case .closed: circuit.record(0)
        case .halfOpen: circuit.record(1)
        case .open: circuit.record(2)
        }
    }
}
