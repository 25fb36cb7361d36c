import Foundation
import Strata
import StrataJSON

/// Writes recorded events as lines of the lakehouse format (docs/LAKEHOUSE.md, version 1):
///
/// ```json
/// {"v":1,"id":"…","type":"rpc.call","ts":"2026-01-15T14:00:01.123000Z","source":{"id":"do-1"},"stream":"rpc","position":42,"revision":3,"data":{…},"metadata":{…},"recordedAt":"…"}
/// ```
///
/// Bytes are written straight into the caller's buffer: payloads are copied, not re-serialized.
public struct EventLineEncoder: Sendable {
    /// The version of the line format this encoder writes.
    public static let formatVersion = 1

    /// The last two seconds formatted (`YYYY-MM-DDTHH:MM:SS.`): events of one batch mostly
    /// share their second, and the calendar arithmetic is the costliest part of a line.
    private var tsCache = SecondCache()
    private var recordedCache = SecondCache()

    /// Creates an encoder.
    public init() {}

    /// What the encoder learned from an event's metadata before writing it.
    public struct Prepared {
        /// The event time: metadata `"ts"` when present and parseable, else the recorded time.
        public let timestamp: Int64
        fileprivate let source: Range<Int>?
    }

    /// Reads the event time and the source object out of the metadata.
    public func prepare(_ event: RecordedEvent) -> Prepared {
        guard let metadata = event.metadata, !metadata.isEmpty else {
            return Prepared(timestamp: event.recordedAtMicroseconds, source: nil)
        }
        let fields = metadata.withUnsafeBytes { MetadataFields($0) }
        return Prepared(timestamp: fields.timestamp ?? event.recordedAtMicroseconds, source: fields.source)
    }

    /// Appends the event's line, newline included, to `out`.
    public mutating func append(_ event: RecordedEvent, prepared: Prepared, to out: inout [UInt8]) {
        let sink = ByteSink(capacity: 512)
        append(event, prepared: prepared, to: sink)
        out.append(contentsOf: sink.bytes)
    }

    /// Appends the event's line to `out` and returns the event time.
    @discardableResult
    public mutating func append(_ event: RecordedEvent, to out: inout [UInt8]) -> Int64 {
        let prepared = prepare(event)
        append(event, prepared: prepared, to: &out)
        return prepared.timestamp
    }

    /// Appends the event's line to `sink`: the exporter's path.
    mutating func append(_ event: RecordedEvent, prepared: Prepared, to sink: ByteSink) {
        let isJSON = event.contentType.isJSON
        let embedded = isJSON && JSONSyntax.isValid(event.data)
        let metadataCount = event.metadata?.count ?? 0
        // Worst case: every string byte escaped as \u00XX, data as base64, metadata twice (source).
        let bound = 512 + 6 * (event.type.utf8.count + event.stream.utf8.count + event.contentType.rawValue.utf8.count)
            + (embedded ? event.data.count : (event.data.count / 3 + 1) * 4) + 2 * metadataCount
        sink.reserve(bound)
        var p = sink.base + sink.count
        let start = p

        @inline(__always) func put(_ text: StaticString) {
            p.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            p += text.utf8CodeUnitCount
        }
        @inline(__always) func put(_ raw: UnsafeRawBufferPointer) {
            guard let from = raw.baseAddress, raw.count > 0 else { return }
            UnsafeMutableRawPointer(p).copyMemory(from: from, byteCount: raw.count)
            p += raw.count
        }
        /// Copies one valid JSON value; line breaks (only whitespace between tokens) become spaces.
        @inline(__always) func putJSON(_ raw: UnsafeRawBufferPointer) {
            let first = p
            put(raw)
            var q = first
            while q < p {
                if q.pointee == 0x0A || q.pointee == 0x0D { q.pointee = 0x20 }
                q += 1
            }
        }

        put(#"{"v":1,"id":""#)
        withUnsafeBytes(of: event.id.uuid) { raw in
            Self.hexDigits.withUnsafeBufferPointer { hex in
                for k in 0..<16 {
                    if k == 4 || k == 6 || k == 8 || k == 10 { p.pointee = 0x2D; p += 1 }
                    let byte = raw[k]
                    p[0] = hex[Int(byte >> 4)]
                    p[1] = hex[Int(byte & 0x0F)]
                    p += 2
                }
            }
        }
        put(#"","type":"#)
        Self.putString(event.type, &p)
        put(#","ts":""#)
        tsCache.put(prepared.timestamp, &p)
        put(#"""#)
        if let source = prepared.source, let metadata = event.metadata {
            put(#","source":"#)
            metadata.withUnsafeBytes { putJSON(UnsafeRawBufferPointer(rebasing: $0[source])) }
        }
        put(#","stream":"#)
        Self.putString(event.stream, &p)
        put(#","position":"#)
        Self.putNumber(event.position, &p)
        put(#","revision":"#)
        Self.putNumber(event.revision, &p)
        put(#","data":"#)
        if embedded {
            event.data.withUnsafeBytes { putJSON($0) }
        } else {
            put(#"""#)
            event.data.base64EncodedData().withUnsafeBytes { put($0) }
            put(#"""#)
        }
        put(#","metadata":"#)
        if let metadata = event.metadata, !metadata.isEmpty {
            metadata.withUnsafeBytes { putJSON($0) }
        } else {
            put("null")
        }
        put(#","recordedAt":""#)
        recordedCache.put(event.recordedAtMicroseconds, &p)
        put(#"""#)
        if !isJSON {
            put(#","contentType":"#)
            Self.putString(event.contentType.rawValue, &p)
        }
        if !embedded {
            put(#","dataEncoding":"base64""#)
        }
        put("}\n")
        sink.count += p - start
        assert(p - start <= bound, "line longer than its bound")
    }

    // MARK: - Pieces

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Formats times as ``UTCTime``'s ISO 8601, reusing the text of the last second seen.
    private struct SecondCache: Sendable {
        var second = Int64.min
        /// `YYYY-MM-DDTHH:MM:SS.` of ``second``.
        var prefix: [UInt8] = []

        mutating func put(_ microseconds: Int64, _ p: inout UnsafeMutablePointer<UInt8>) {
            var s = microseconds / 1_000_000
            var fraction = microseconds % 1_000_000
            if fraction < 0 {
                fraction += 1_000_000
                s -= 1
            }
            if s != second {
                prefix.removeAll(keepingCapacity: true)
                UTCTime.appendISO8601(s * 1_000_000, to: &prefix)
                prefix.removeLast(7)  // "000000Z"
                second = s
            }
            prefix.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: $0.count) }
            p += prefix.count
            var f = Int(fraction)
            for k in stride(from: 5, through: 0, by: -1) {
                p[k] = UInt8(truncatingIfNeeded: 0x30 + f % 10)
                f /= 10
            }
            p[6] = 0x5A
            p += 7
        }
    }

    @inline(__always)
    static func putNumber(_ value: UInt64, _ p: inout UnsafeMutablePointer<UInt8>) {
        var digits = 1
        var v = value
        while v >= 10 {
            v /= 10
            digits += 1
        }
        v = value
        for k in stride(from: digits - 1, through: 0, by: -1) {
            p[k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
            v /= 10
        }
        p += digits
    }

    /// Writes a JSON string (quotes included), escaping what RFC 8259 requires.
    static func putString(_ text: String, _ p: inout UnsafeMutablePointer<UInt8>) {
        p.pointee = 0x22
        p += 1
        var text = text
        text.withUTF8 { utf8 in
            if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                if let from = utf8.baseAddress { p.update(from: from, count: utf8.count) }
                p += utf8.count
                return
            }
            for b in utf8 {
                switch b {
                case 0x22, 0x5C: p[0] = 0x5C; p[1] = b; p += 2
                case 0x0A: p[0] = 0x5C; p[1] = UInt8(ascii: "n"); p += 2
                case 0x0D: p[0] = 0x5C; p[1] = UInt8(ascii: "r"); p += 2
                case 0x09: p[0] = 0x5C; p[1] = UInt8(ascii: "t"); p += 2
                case ..<0x20:
                    p[0] = 0x5C; p[1] = UInt8(ascii: "u"); p[2] = 0x30; p[3] = 0x30
                    p[4] = hexDigits[Int(b >> 4)]
                    p[5] = hexDigits[Int(b & 0x0F)]
                    p += 6
                default: p.pointee = b; p += 1
                }
            }
        }
        p.pointee = 0x22
        p += 1
    }
}
