import StrataJSON
import Tracing

/// The JSON encoding of OTLP's `ExportTraceServiceRequest` (the protobuf JSON mapping that
/// OTLP/HTTP accepts with `Content-Type: application/json`): one resource (the service), one
/// instrumentation scope, the spans. Ids are lowercase hex; 64-bit integers (times, `intValue`)
/// are decimal strings; enums (`kind`, `status.code`) are numbers.
enum OTLPJSON {
    /// The scope every span is reported under.
    static let scopeName = "strata"

    /// The request body for `spans` of the service `serviceName`.
    static func request(_ spans: [FinishedSpan], serviceName: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("resourceSpans")
        writer.beginArray()
        writer.beginObject()
        writer.key("resource")
        writer.beginObject()
        attributes([
            "service.name": .string(serviceName),
            "telemetry.sdk.name": "strata",
            "telemetry.sdk.language": "swift",
        ], into: &writer)
        writer.endObject()
        writer.key("scopeSpans")
        writer.beginArray()
        writer.beginObject()
        writer.key("scope")
        writer.beginObject()
        writer.field("name", scopeName)
        writer.endObject()
        writer.key("spans")
        writer.beginArray()
        for span in spans { self.span(span, into: &writer) }
        writer.endArray()
        writer.endObject()
        writer.endArray()
        writer.endObject()
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    private static func span(_ span: FinishedSpan, into writer: inout JSONWriter) {
        writer.beginObject()
        ids(span.trace, into: &writer)
        if let parent = span.parentSpanID { writer.field("parentSpanId", Hex.string(parent, digits: 16)) }
        writer.field("name", span.name)
        writer.key("kind")
        writer.number(kindNumber(span.kind))
        writer.field("startTimeUnixNano", String(span.start))
        writer.field("endTimeUnixNano", String(span.end))
        attributes(span.attributes, into: &writer)
        if !span.events.isEmpty {
            writer.key("events")
            writer.beginArray()
            for event in span.events {
                writer.beginObject()
                writer.field("timeUnixNano", String(event.nanosecondsSinceEpoch))
                writer.field("name", event.name)
                attributes(event.attributes, into: &writer)
                writer.endObject()
            }
            writer.endArray()
        }
        if !span.links.isEmpty {
            writer.key("links")
            writer.beginArray()
            for link in span.links {
                writer.beginObject()
                ids(link.trace, into: &writer)
                attributes(link.attributes, into: &writer)
                writer.endObject()
            }
            writer.endArray()
        }
        if let status = span.status {
            writer.key("status")
            writer.beginObject()
            if let message = status.message { writer.field("message", message) }
            writer.key("code")
            // STATUS_CODE_OK = 1, STATUS_CODE_ERROR = 2.
            writer.number(status.code == .ok ? Int(1) : Int(2))
            writer.endObject()
        }
        writer.endObject()
    }

    private static func ids(_ trace: TraceContext, into writer: inout JSONWriter) {
        writer.field("traceId", trace.traceID.hex)
        writer.field("spanId", Hex.string(trace.spanID, digits: 16))
        if let state = trace.traceState { writer.field("traceState", state) }
    }

    /// OTLP's `SpanKind`: INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
    static func kindNumber(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    /// `"attributes": [{"key": …, "value": {…}}, …]`, in key order (a stable body).
    private static func attributes(_ attributes: SpanAttributes, into writer: inout JSONWriter) {
        var pairs: [(String, SpanAttribute)] = []
        attributes.forEach { pairs.append(($0, $1)) }
        pairs.sort { $0.0 < $1.0 }
        writer.key("attributes")
        writer.beginArray()
        for (key, value) in pairs {
            writer.beginObject()
            writer.field("key", key)
            writer.key("value")
            self.value(value, into: &writer)
            writer.endObject()
        }
        writer.endArray()
    }

    /// An `AnyValue`: `stringValue`, `intValue` (a decimal string), `doubleValue`, `boolValue`
    /// or `arrayValue`.
    private static func value(_ attribute: SpanAttribute, into writer: inout JSONWriter) {
        writer.beginObject()
        switch attribute {
        case .string(let s): writer.field("stringValue", s)
        case .int32(let n): writer.field("intValue", String(n))
        case .int64(let n): writer.field("intValue", String(n))
        case .double(let d): double(d, into: &writer)
        case .bool(let b):
            writer.key("boolValue")
            writer.bool(b)
        case .stringConvertible(let c): writer.field("stringValue", c.description)
        case .stringArray(let values): array(values.map(SpanAttribute.string), into: &writer)
        case .int32Array(let values): array(values.map(SpanAttribute.int32), into: &writer)
        case .int64Array(let values): array(values.map(SpanAttribute.int64), into: &writer)
        case .doubleArray(let values): array(values.map(SpanAttribute.double), into: &writer)
        case .boolArray(let values): array(values.map(SpanAttribute.bool), into: &writer)
        case .stringConvertibleArray(let values): array(values.map { .string($0.description) }, into: &writer)
        default: writer.field("stringValue", "\(attribute)")
        }
        writer.endObject()
    }

    private static func double(_ d: Double, into writer: inout JSONWriter) {
        writer.key("doubleValue")
        // The protobuf JSON mapping spells the values JSON has no number for as strings.
        if d.isNaN {
            writer.string("NaN")
        } else if d.isInfinite {
            writer.string(d < 0 ? "-Infinity" : "Infinity")
        } else {
            writer.number(d)
        }
    }

    private static func array(_ values: [SpanAttribute], into writer: inout JSONWriter) {
        writer.key("arrayValue")
        writer.beginObject()
        writer.key("values")
        writer.beginArray()
        for value in values { self.value(value, into: &writer) }
        writer.endArray()
        writer.endObject()
    }
}
