import CoreMetrics

/// The lakehouse exporter's metrics (docs/LAKEHOUSE.md, "Metrics"), each with the dimension
/// `exporter` (the configuration's source). Without a factory they go nowhere.
struct ExporterMetrics: Sendable {
    /// `strata_exporter_files_total`: files published.
    let files: Counter
    /// `strata_exporter_events_total`: events written into files.
    let events: Counter
    /// `strata_exporter_position`: the checkpoint saved, the position every published file
    /// covers; the store's head minus it is the lag.
    let position: Gauge
    /// `strata_exporter_open_files`: staged files open now.
    let openFiles: Gauge
    /// `strata_exporter_journal_entries`: files published beyond the checkpoint, as the export
    /// journal lists them.
    let journalEntries: Gauge

    init(factory: (any MetricsFactory)?, exporter: String) {
        let factory = factory ?? NOOPMetricsHandler.instance
        let dimensions = [("exporter", exporter)]
        files = Counter(label: "strata_exporter_files_total", dimensions: dimensions, factory: factory)
        events = Counter(label: "strata_exporter_events_total", dimensions: dimensions, factory: factory)
        position = Gauge(label: "strata_exporter_position", dimensions: dimensions, factory: factory)
        openFiles = Gauge(label: "strata_exporter_open_files", dimensions: dimensions, factory: factory)
        journalEntries = Gauge(label: "strata_exporter_journal_entries", dimensions: dimensions, factory: factory)
    }
}
