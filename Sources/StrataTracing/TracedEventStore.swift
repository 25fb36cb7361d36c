import Strata
import Tracing

/// An `EventStore` that traces the work of the store it wraps: one span per operation, with
/// the store, the stream and what was asked and found as attributes, and the error (status
/// `error`) when the operation throws. Everything else is forwarded unchanged.
///
/// | span | for | attributes (besides `strata.store`) |
/// | --- | --- | --- |
/// | `strata.append` | every append (all of the protocol's `append` methods end in one) | `strata.stream` (or `strata.streams` for several), `strata.expected_revision` (one stream), `strata.event_count`; `strata.position` (of the last event) and `strata.revision` (one stream) once stored |
/// | `strata.read_stream` | each page of a stream read (`readStream`, `readStreamPage`) | `strata.stream`, `strata.origin`, `strata.revision`, `strata.direction`, `strata.max_count`; `strata.event_count` |
/// | `strata.read_all` | each page of an `$all` read (`readAll`, `readAllPage`) | `strata.stream` (`$all`), `strata.origin`, `strata.position`, `strata.direction`, `strata.max_count`, `strata.filter.stream_prefixes`, `strata.filter.event_types`; `strata.event_count`, `strata.scanned_through` |
/// | `strata.subscribe` | a subscription's catch-up (``subscribeToAll(from:filter:)``, ``subscribe(toStream:from:)``) | `strata.stream`, `strata.origin`, `strata.position` or `strata.revision`; `strata.event_count`, `strata.caught_up` |
/// | `strata.delete_stream` | ``deleteStream(_:expectedRevision:mode:)`` | `strata.stream`, `strata.expected_revision`, `strata.delete_mode` |
/// | `strata.set_stream_metadata` | ``setStreamMetadata(_:_:)`` | `strata.stream` |
/// | `strata.stream_info` | ``streamInfo(_:)`` | `strata.stream`; `strata.stream_exists`, `strata.revision` |
/// | `strata.list_streams` | each page of a listing (`listStreams`, `listStreamsPage`) | `strata.prefix`, `strata.after`, `strata.max_count`; `strata.stream_count` |
///
/// `headPosition()`, `stats()`, `waitForAppends(after:)` and `close()` are forwarded without a
/// span: the first two are cheap probes that health checks call all the time, the third is a
/// wait rather than work.
///
/// **Reads are traced page by page.** The sequences of the protocol's extension (`readStream`,
/// `readAll`, `listStreams`) are lazy and call the page requirements, the only read entry
/// points a wrapper sees whatever the caller's static type. A span per page measures the
/// store's work: a span for the whole iteration would also measure the consumer's own work
/// between pages, and would stay open for as long as an abandoned sequence lives. A read of up
/// to 1,024 events (one page) is one span.
///
/// **Subscriptions** get one `strata.subscribe` span for their catch-up, from the first read to
/// the caught-up point, with the number of events it delivered; reading live after that adds no
/// span. This needs the subscription to come from this type's own ``subscribeToAll(from:filter:)``
/// or ``subscribe(toStream:from:)`` (a caller holding a `TracedEventStore`). A subscription
/// made through `any EventStore`, or built directly with `Subscription(store:target:start:)`,
/// reads through the page requirements, so each of its pages is a read span instead.
///
/// Spans start in the task's current instrumentation context, so they are children of the
/// caller's span (an HTTP request's server span, for example), and the wrapped store's own
/// instrumentation nests under them.
///
/// ```swift
/// let store = TracedEventStore(try LogEventStore(directory: path), name: "file:/var/lib/strata")
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: "{}")])   // one strata.append span
/// ```
public struct TracedEventStore: ForwardingEventStore {
    /// The store that does the work.
    public let base: any EventStore
    /// The store's name in the `strata.store` attribute, for example its URL (without credentials).
    public let name: String
    /// Whether a read made outside any trace (no instrumentation context in the task) starts a
    /// trace of its own. Writes always do. See ``init(_:name:tracer:readsStartTraces:)``.
    public let readsStartTraces: Bool
    private let tracer: (any Tracer)?
    /// The catch-up span of the subscription reading through this copy (see
    /// ``subscribeToAll(from:filter:)``); `nil` for the store itself.
    var catchUp: CatchUp?

    /// Wraps `base`.
    /// - Parameters:
    ///   - name: the `strata.store` attribute of every span: a name for operators, such as the
    ///     store's URL without its password.
    ///   - tracer: the tracer to start spans with; `nil` (the default) uses the one of
    ///     `InstrumentationSystem` at each call (the bootstrapped tracer, or a `withTracer` scope's).
    ///   - readsStartTraces: `false` traces reads only inside a trace, so that background
    ///     readers (a server's live tail, document views, consumers), which read after every
    ///     append, do not start a trace each time. `strata serve` passes `false`.
    public init(_ base: any EventStore, name: String, tracer: (any Tracer)? = nil, readsStartTraces: Bool = true) {
        self.base = base
        self.name = name
        self.tracer = tracer
        self.readsStartTraces = readsStartTraces
    }

    // MARK: Writes

    /// Appends through the wrapped store in a `strata.append` span.
    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        var attributes: SpanAttributes = ["strata.event_count": .int(Int64(requests.reduce(0) { $0 + $1.events.count }))]
        if requests.count == 1 {
            attributes["strata.stream"] = requests[0].stream
            attributes["strata.expected_revision"] = requests[0].expectedRevision.description
        } else {
            attributes["strata.streams"] = requests.map(\.stream)
        }
        return try await traced("strata.append", attributes) {
            try await base.append(requests, condition: condition)
        } found: { results, attributes in
            if let last = results.last { attributes["strata.position"] = Self.int(last.lastPosition) }
            if results.count == 1 { attributes["strata.revision"] = Self.int(results[0].lastRevision) }
        }
    }

    /// Deletes through the wrapped store in a `strata.delete_stream` span.
    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        let attributes: SpanAttributes = ["strata.stream": .string(stream), "strata.expected_revision": .string(expectedRevision.description),
                                          "strata.delete_mode": mode == .soft ? "soft" : "tombstone"]
        try await traced("strata.delete_stream", attributes) {
            try await base.deleteStream(stream, expectedRevision: expectedRevision, mode: mode)
        }
    }

    /// Sets the metadata through the wrapped store in a `strata.set_stream_metadata` span.
    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try await traced("strata.set_stream_metadata", ["strata.stream": .string(stream)]) {
            try await base.setStreamMetadata(stream, metadata)
        }
    }

    // MARK: Reads

    /// Reads a page of a stream in a `strata.read_stream` span (unless it is a read outside a
    /// trace and ``readsStartTraces`` is off).
    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        if let catchUp {
            return try await catchUp.read { try await base.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount) }
        }
        var attributes = Self.origin(origin, number: "strata.revision")
        attributes["strata.stream"] = stream
        attributes["strata.direction"] = direction == .forward ? "forward" : "backward"
        attributes["strata.max_count"] = maxCount
        return try await traced("strata.read_stream", attributes, read: true) {
            try await base.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
        } found: { page, attributes in
            attributes["strata.event_count"] = page.events.count
        }
    }

    /// Reads a page of `$all` in a `strata.read_all` span (unless it is a read outside a trace
    /// and ``readsStartTraces`` is off).
    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        if let catchUp {
            return try await catchUp.read { try await base.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount) }
        }
        var attributes = Self.origin(origin, number: "strata.position")
        attributes["strata.stream"] = "$all"
        attributes["strata.direction"] = direction == .forward ? "forward" : "backward"
        attributes["strata.max_count"] = maxCount
        Self.add(filter, to: &attributes)
        return try await traced("strata.read_all", attributes, read: true) {
            try await base.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
        } found: { page, attributes in
            attributes["strata.event_count"] = page.events.count
            attributes["strata.scanned_through"] = Self.int(page.scannedThrough)
        }
    }

    /// The stream's info, in a `strata.stream_info` span (unless it is a read outside a trace
    /// and ``readsStartTraces`` is off).
    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try await traced("strata.stream_info", ["strata.stream": .string(stream)], read: true) {
            try await base.streamInfo(stream)
        } found: { info, attributes in
            attributes["strata.stream_exists"] = info.exists
            attributes["strata.revision"] = Self.int(info.lastRevision)
        }
    }

    /// A page of stream names, in a `strata.list_streams` span (unless it is a read outside a
    /// trace and ``readsStartTraces`` is off).
    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        var attributes: SpanAttributes = ["strata.prefix": .string(prefix), "strata.max_count": .int(Int64(maxCount))]
        if let after { attributes["strata.after"] = after }
        return try await traced("strata.list_streams", attributes, read: true) {
            try await base.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
        } found: { names, attributes in
            attributes["strata.stream_count"] = names.count
        }
    }

    // MARK: Untraced

    /// Head, stats, waits and close go to ``base`` with no span (probes and waits, not work).
    public var forwardee: any EventStore { base }

    // MARK: Spans

    /// The tracer of this call: the one given, or the instrumentation system's.
    var currentTracer: any Tracer { tracer ?? InstrumentationSystem.tracer }

    /// Whether a read now is traced: always when reads start traces, otherwise only inside one.
    var tracesReadNow: Bool {
        readsStartTraces || !(InstrumentationContext.current?.isEmpty ?? true)
    }

    /// Runs `body` in a span named `operation` with `attributes` (and `strata.store`), in the
    /// span's context; `found` adds attributes from the result. An error is recorded on the span
    /// and sets its status to error, except a cancellation (`strata.cancelled`), which is the
    /// caller's decision rather than a failure.
    func traced<T>(_ operation: String, _ attributes: SpanAttributes, read: Bool = false,
                   _ body: () async throws -> T, found: (T, inout SpanAttributes) -> Void = { _, _ in }) async throws -> T {
        if read && !tracesReadNow { return try await body() }
        let span = startSpan(operation, attributes)
        defer { span.end() }
        do {
            let value = try await InstrumentationContext.withValue(span.context) { try await body() }
            span.updateAttributes { found(value, &$0) }
            return value
        } catch {
            Self.record(error, on: span)
            throw error
        }
    }

    /// Starts a span in the current context, with `attributes` and `strata.store`.
    func startSpan(_ operation: String, _ attributes: SpanAttributes) -> any Span {
        let span = currentTracer.startSpan(operation, context: InstrumentationContext.current ?? .topLevel, ofKind: .internal)
        var all = attributes
        all["strata.store"] = name
        span.attributes = all
        return span
    }

    /// Marks the span failed with `error`, or cancelled.
    static func record(_ error: any Error, on span: any Span) {
        if error is CancellationError {
            span.attributes["strata.cancelled"] = true
        } else {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: String(describing: error)))
        }
    }

    /// `strata.origin` (`start`, `end`, `at`, `after`) and, with a number, `number` set to it.
    static func origin(_ origin: ReadOrigin, number: String) -> SpanAttributes {
        switch origin {
        case .start: ["strata.origin": "start"]
        case .end: ["strata.origin": "end"]
        case .at(let n): ["strata.origin": "at", number: int(n)]
        }
    }

    /// The filter's prefixes and types, when it has them.
    static func add(_ filter: EventFilter, to attributes: inout SpanAttributes) {
        if !filter.streamPrefixes.isEmpty { attributes["strata.filter.stream_prefixes"] = filter.streamPrefixes }
        if !filter.eventTypes.isEmpty { attributes["strata.filter.event_types"] = filter.eventTypes.sorted() }
    }

    /// A position or revision as an integer attribute (clamped: `UInt64.max` is a sentinel).
    static func int(_ value: UInt64) -> SpanAttribute {
        .int64(Int64(clamping: value))
    }
}
