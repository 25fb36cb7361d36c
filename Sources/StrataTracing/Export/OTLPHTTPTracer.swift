import AsyncHTTPClient
import Logging
import NIOCore
import ServiceLifecycle
import Strata
import Synchronization
import Tracing

/// A swift-distributed-tracing `Tracer` that sends its spans to an OpenTelemetry collector over
/// OTLP/HTTP with the JSON encoding (`POST <endpoint>/v1/traces`, `Content-Type:
/// application/json`).
///
/// Ids are random (16-byte traces, 8-byte spans); a new trace is sampled with the configured
/// ratio and a continued one follows its parent. Context crosses processes as W3C Trace Context
/// (`traceparent`, `tracestate`). Finished spans wait in a bounded queue and are sent in
/// batches: as soon as a batch is full, and at the latest after the export interval. An export
/// that fails is logged and its spans are dropped; tracing never slows down or fails the work
/// it observes.
///
/// It is a swift-service-lifecycle `Service`: run it beside the application, after it in the
/// service list so that it is shut down later and the application's last spans are sent. On
/// graceful shutdown (or cancellation) it sends what is queued and returns. A tracer that is
/// not run only queues (and, when full, drops): call ``flush()`` to send.
///
/// ```swift
/// let tracer = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: "http://127.0.0.1:4318"))
/// InstrumentationSystem.bootstrap(tracer)
/// let group = ServiceGroup(services: [tracer, server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class OTLPHTTPTracer: Tracer, Service, Sendable {
    /// The span type.
    public typealias Span = OTLPSpan

    /// The settings it was created with.
    public let configuration: TracingConfiguration
    private let queue: SpanQueue
    private let client: HTTPClient
    private let logger: Logger
    private let counts = Mutex(Counts())

    private struct Counts {
        var exported = 0
        var failed = 0
        /// The last export failed: the next failure is logged at debug level only.
        var failing = false
    }

    /// Creates a tracer.
    /// - Parameters:
    ///   - client: the HTTP client that sends the exports (the shared one by default).
    ///   - logger: where failed exports are reported (a warning when exports start failing).
    /// - Throws: `StrataError.invalidArgument(_:)` when `configuration` is not valid.
    public init(configuration: TracingConfiguration, client: HTTPClient = .shared, logger: Logger = Logger(label: "strata.tracing")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.queue = SpanQueue(capacity: configuration.maxQueueSize, batchSize: configuration.batchSize)
        self.client = client
        self.logger = logger
    }

    /// Spans dropped before export because the queue was full.
    public var droppedSpans: Int { queue.dropped }
    /// Spans the collector accepted.
    public var exportedSpans: Int { counts.withLock { $0.exported } }
    /// Spans lost in failed exports.
    public var failedSpans: Int { counts.withLock { $0.failed } }

    // MARK: Tracer

    /// Starts a span: a child of the span (local or received) in `context`, or the first span
    /// of a new trace, sampled with ``TracingConfiguration/sampleRatio``.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        var context = context()
        let parent = context[TraceContext.Key.self]
        let traceID = parent?.traceID ?? .random()
        let own = TraceContext(traceID: traceID, spanID: randomSpanID(),
                               sampled: parent?.sampled ?? Self.samples(traceID, ratio: configuration.sampleRatio),
                               traceState: parent?.traceState)
        context[TraceContext.Key.self] = own
        guard own.sampled else { return OTLPSpan(context: context, recorder: nil) }
        let recorder = Recorder(name: operationName, trace: own, parentSpanID: parent?.spanID, kind: kind,
                                start: instant().nanosecondsSinceEpoch, queue: queue)
        return OTLPSpan(context: context, recorder: recorder)
    }

    /// Whether a new trace with this id is sampled: the id's low 53 bits, read as a fraction of
    /// 2⁵³, fall below the ratio. The same id always gets the same answer.
    static func samples(_ id: TraceID, ratio: Double) -> Bool {
        if ratio >= 1 { return true }
        if ratio <= 0 { return false }
        return Double(id.low & ((1 << 53) - 1)) < ratio * 9_007_199_254_740_992
    }

    /// Asks the export loop to send what is queued now.
    public func forceFlush() {
        queue.signal()
    }

    /// Writes the context's span as `traceparent` (and `tracestate` when it has one).
    public func inject<Carrier, Inject: Injector>(_ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let trace = context[TraceContext.Key.self] else { return }
        injector.inject(trace.traceparent, forKey: "traceparent", into: &carrier)
        if let state = trace.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }

    /// Reads `traceparent` and `tracestate`: spans started in the resulting context continue the
    /// caller's trace. A missing or malformed `traceparent` leaves the context unchanged.
    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier),
              let trace = TraceContext(traceparent: header, traceState: extractor.extract(key: "tracestate", from: carrier)) else { return }
        context[TraceContext.Key.self] = trace
    }

    // MARK: Export

    /// Sends queued spans until graceful shutdown or cancellation, then sends what is left and
    /// returns.
    public func run() async throws {
        let queue = self.queue
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await exportLoop()
            } onGracefulShutdown: {
                queue.stop()
            }
        } onCancel: {
            queue.stop()
        }
        // The last export runs in a task of its own: a cancelled run must still send it.
        await Task { await self.flush() }.value
    }

    /// Sends every queued span now, in batches, and returns when done.
    public func flush() async {
        while let batch = queue.takeBatch() {
            await export(batch)
        }
    }

    private func exportLoop() async {
        let queue = self.queue
        let interval = configuration.exportInterval
        while !queue.isStopped {
            let timer = Task {
                try await Task.sleep(for: interval)
                queue.signal()
            }
            await queue.waitForWork()
            timer.cancel()
            await flush()
        }
    }

    private func export(_ batch: [FinishedSpan]) async {
        do {
            try await post(OTLPJSON.request(batch, serviceName: configuration.serviceName))
            counts.withLock {
                $0.exported += batch.count
                $0.failing = false
            }
        } catch {
            let first = counts.withLock { counts -> Bool in
                counts.failed += batch.count
                defer { counts.failing = true }
                return !counts.failing
            }
            let message: Logger.Message = "could not export \(batch.count) spans to \(configuration.tracesURL): \(String(describing: error))"
            if first { logger.warning(message) } else { logger.debug(message) }
        }
    }

    private func post(_ body: [UInt8]) async throws {
        var request = HTTPClientRequest(url: configuration.tracesURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let timeout = configuration.timeout.components
        let response = try await client.execute(request, timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
        let answer = try await response.body.collect(upTo: 64 << 10)
        guard (200..<300).contains(response.status.code) else {
            throw StrataError.io(path: configuration.tracesURL, operation: "export spans",
                                 reason: "the collector answered \(response.status.code): \(String(buffer: answer).prefix(512))")
        }
    }
}
