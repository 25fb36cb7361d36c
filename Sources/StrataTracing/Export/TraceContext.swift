import Foundation
import Tracing

/// What identifies a span across processes: its trace, its own id, whether the trace is
/// sampled, and the vendor `tracestate` it carries. Kept in the instrumentation context under
/// ``Key`` and propagated as W3C Trace Context headers (`traceparent`, `tracestate`).
struct TraceContext: Sendable, Hashable {
    /// The trace's 16-byte id, as two big-endian halves.
    var traceID: TraceID
    /// The span's 8-byte id.
    var spanID: UInt64
    /// Whether the trace is recorded and exported (the `sampled` flag of `traceparent`).
    var sampled: Bool
    /// The `tracestate` header received with the context, passed on unchanged.
    var traceState: String?

    /// The instrumentation-context key of the current span's trace context.
    enum Key: InstrumentationContextKey {
        typealias Value = TraceContext
        static var nameOverride: String? { "strata-trace-context" }
    }

    /// The `traceparent` header value: `00-<trace id>-<span id>-<flags>`.
    var traceparent: String {
        "00-\(traceID.hex)-\(Hex.string(spanID, digits: 16))-\(sampled ? "01" : "00")"
    }

    /// Parses a `traceparent` header (W3C Trace Context, version 00 and later versions read as
    /// 00); `nil` for anything malformed, an all-zero trace or span id, or version `ff`.
    init?(traceparent text: String, traceState: String? = nil) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, let version = Hex.value(parts[0]), version != 0xFF,
              version != 0 || parts.count == 4,
              parts[1].utf8.count == 32, let high = Hex.value(parts[1].prefix(16)), let low = Hex.value(parts[1].suffix(16)),
              parts[2].utf8.count == 16, let span = Hex.value(parts[2]),
              parts[3].utf8.count == 2, let flags = Hex.value(parts[3]),
              high != 0 || low != 0, span != 0 else { return nil }
        self.traceID = TraceID(high: high, low: low)
        self.spanID = span
        self.sampled = flags & 1 == 1
        self.traceState = traceState.flatMap { $0.isEmpty ? nil : $0 }
    }

    init(traceID: TraceID, spanID: UInt64, sampled: Bool, traceState: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
        self.traceState = traceState
    }
}

/// A 16-byte trace id.
struct TraceID: Sendable, Hashable {
    var high: UInt64
    var low: UInt64

    /// A random, non-zero id.
    static func random() -> TraceID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let id = TraceID(high: generator.next(), low: generator.next())
            if id.high != 0 || id.low != 0 { return id }
        }
    }

    /// 32 lowercase hexadecimal digits.
    var hex: String { Hex.string(high, digits: 16) + Hex.string(low, digits: 16) }
}

/// A random, non-zero 8-byte span id.
func randomSpanID() -> UInt64 {
    var generator = SystemRandomNumberGenerator()
    while true {
        let id: UInt64 = generator.next()
        if id != 0 { return id }
    }
}

/// Lowercase hexadecimal digits, both ways.
enum Hex {
    /// `value` in exactly `digits` lowercase hex digits (zero-padded).
    static func string(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.utf8.count)) + text
    }

    /// The value of 1 to 16 lowercase hex digits; `nil` for anything else (W3C Trace Context
    /// allows lowercase only).
    static func value(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
