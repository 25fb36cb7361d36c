import Synchronization
import Tracing

/// A span of ``OTLPHTTPTracer``: recorded while open, queued for export when it ends.
///
/// A span of a trace that is not sampled records nothing (``isRecording`` is `false`) but still
/// carries its trace context, so that the decision reaches its children and, through
/// `traceparent`, the services it calls.
public struct OTLPSpan: Span {
    /// The instrumentation context of the span: its parent's, with this span's trace context.
    public let context: InstrumentationContext
    /// The recording, `nil` when the trace is not sampled.
    private let recorder: Recorder?

    init(context: InstrumentationContext, recorder: Recorder?) {
        self.context = context
        self.recorder = recorder
    }

    /// The operation's name (a span name in OTLP).
    public var operationName: String {
        get { recorder?.state.withLock { $0.name } ?? "" }
        nonmutating set { recorder?.update { $0.name = newValue } }
    }

    /// The span's attributes.
    public var attributes: SpanAttributes {
        get { recorder?.state.withLock { $0.attributes } ?? [:] }
        nonmutating set { recorder?.update { $0.attributes = newValue } }
    }

    /// Whether the span records: its trace is sampled and it has not ended.
    public var isRecording: Bool { recorder?.state.withLock { $0.end == nil } ?? false }

    /// Sets the span's status (exported as OTLP's status code and message).
    public func setStatus(_ status: SpanStatus) {
        recorder?.update { $0.status = status }
    }

    /// Adds an event.
    public func addEvent(_ event: SpanEvent) {
        recorder?.update { $0.events.append(event) }
    }

    /// Records an error as an `exception` event with `exception.type` and `exception.message`
    /// (OpenTelemetry's convention). It does not change the status: ``setStatus(_:)`` does.
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        guard let recorder else { return }
        var all: SpanAttributes = [
            "exception.type": .string(String(reflecting: type(of: error))),
            "exception.message": .string(String(describing: error)),
        ]
        all.merge(attributes)
        let event = SpanEvent(name: "exception", at: instant(), attributes: all)
        recorder.update { $0.events.append(event) }
    }

    /// Adds a link to another span (exported when that span's context is this tracer's).
    public func addLink(_ link: SpanLink) {
        recorder?.update { $0.links.append(link) }
    }

    /// Ends the span and queues it for export. Later calls do nothing.
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        recorder?.end(at: instant().nanosecondsSinceEpoch)
    }
}

/// What a sampled span records, and where it goes when it ends.
final class Recorder: Sendable {
    struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var status: SpanStatus?
        var end: UInt64?
    }

    let state: Mutex<State>
    private let trace: TraceContext
    private let parentSpanID: UInt64?
    private let kind: SpanKind
    private let start: UInt64
    private let queue: SpanQueue

    init(name: String, trace: TraceContext, parentSpanID: UInt64?, kind: SpanKind, start: UInt64, queue: SpanQueue) {
        self.state = Mutex(State(name: name))
        self.trace = trace
        self.parentSpanID = parentSpanID
        self.kind = kind
        self.start = start
        self.queue = queue
    }

    /// Changes the state while the span is open (an ended span no longer changes).
    func update(_ change: (inout State) -> Void) {
        state.withLock { state in
            guard state.end == nil else { return }
            change(&state)
        }
    }

    func end(at nanoseconds: UInt64) {
        let finished: FinishedSpan? = state.withLock { state in
            guard state.end == nil else { return nil }
            state.end = nanoseconds
            return FinishedSpan(name: state.name, kind: kind, trace: trace, parentSpanID: parentSpanID, start: start,
                                end: max(start, nanoseconds), attributes: state.attributes, events: state.events,
                                links: state.links.compactMap { link in
                                    link.context[TraceContext.Key.self].map { FinishedSpan.Link(trace: $0, attributes: link.attributes) }
                                },
                                status: state.status)
        }
        if let finished { queue.enqueue(finished) }
    }
}

/// An ended span, as exported.
struct FinishedSpan: Sendable {
    /// A link to another span.
    struct Link: Sendable {
        var trace: TraceContext
        var attributes: SpanAttributes
    }

    var name: String
    var kind: SpanKind
    var trace: TraceContext
    var parentSpanID: UInt64?
    /// Nanoseconds since the Unix epoch.
    var start: UInt64
    var end: UInt64
    var attributes: SpanAttributes
    var events: [SpanEvent]
    var links: [Link]
    var status: SpanStatus?
}
