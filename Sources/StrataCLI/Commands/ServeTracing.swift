import Logging
import ServiceLifecycle
import Strata
import StrataTracing
import Tracing

/// `strata serve`'s tracing, when the configuration file has a `tracing` object: the OTLP
/// tracer bootstrapped as the process's tracer, the store traced, and the tracer run as a
/// service that sends the last spans when the server has stopped (docs/OPERATIONS.md, "Tracing").
struct ServeTracing {
    /// The exporter; `nil` without tracing.
    let tracer: OTLPHTTPTracer?

    /// Bootstraps the OTLP tracer when `configuration` is set (once: a process has one tracer).
    /// - Throws: `StrataError.invalidArgument(_:)` for invalid settings.
    init(_ configuration: TracingConfiguration?, logger: Logger) throws {
        guard let configuration else {
            tracer = nil
            return
        }
        let tracer = try OTLPHTTPTracer(configuration: configuration, logger: logger)
        InstrumentationSystem.bootstrap(tracer)
        self.tracer = tracer
    }

    /// The store to serve: traced when tracing is on. Reads made outside a request (the live
    /// tail, document views) start no trace of their own.
    func store(_ store: any EventStore, name: String) -> any EventStore {
        guard tracer != nil else { return store }
        return TracedEventStore(store, name: name, readsStartTraces: false)
    }

    /// The services to run with the server: the tracer, first, so that it stops after the
    /// server (a service group stops its services in reverse order) and exports its last spans.
    func services(with server: any Service) -> [any Service] {
        (tracer.map { [$0] } ?? []) + [server]
    }
}
