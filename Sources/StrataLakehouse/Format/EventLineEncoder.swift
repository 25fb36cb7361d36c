import Foundation
import Strata

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
        out.append(contentsOf: Self.prefixVersion)
        withUnsafeBytes(of: event.id.uuid) { raw in
            for (k, byte) in raw.enumerated() {
                if k == 4 || k == 6 || k == 8 || k == 10 { out.append(0x2D) }
                out.append(Self.hex[Int(byte >> 4)])
                out.append(Self.hex[Int(byte & 0x0F)])
            }
        }
        out.append(contentsOf: Self.keyType)
        Self.appendString(event.type, to: &out)
        out.append(contentsOf: Self.keyTs)
        tsCache.append(prepared.timestamp, to: &out)
        out.append(0x22)
        if let source = prepared.source, let metadata = event.metadata {
            out.append(contentsOf: Self.keySource)
            metadata.withUnsafeBytes { Self.appendJSON(UnsafeRawBufferPointer(rebasing: $0[source]), to: &out) }
        }
        out.append(contentsOf: Self.keyStream)
        Self.appendString(event.stream, to: &out)
        out.append(contentsOf: Self.keyPosition)
        Self.appendNumber(event.position, to: &out)
        out.append(contentsOf: Self.keyRevision)
        Self.appendNumber(event.revision, to: &out)
        out.append(contentsOf: Self.keyData)
        let isJSON = event.contentType.isJSON
        let embedded = isJSON && JSONSyntax.isValid(event.data)
        if embedded {
            event.data.withUnsafeBytes { Self.appendJSON($0, to: &out) }
        } else {
            out.append(0x22)
            out.append(contentsOf: event.data.base64EncodedData())
            out.append(0x22)
        }
        out.append(contentsOf: Self.keyMetadata)
        if let metadata = event.metadata, !metadata.isEmpty {
            metadata.withUnsafeBytes { Self.appendJSON($0, to: &out) }
        } else {
            out.append(contentsOf: Self.null)
        }
        out.append(contentsOf: Self.keyRecordedAt)
        recordedCache.append(event.recordedAtMicroseconds, to: &out)
        out.append(0x22)
        if !isJSON {
            out.append(contentsOf: Self.keyContentType)
            Self.appendString(event.contentType.rawValue, to: &out)
        }
        if !embedded {
            out.append(contentsOf: Self.keyBase64)
        }
        out.append(0x7D)
        out.append(0x0A)
    }

    /// Appends the event's line to `out` and returns the event time.
    @discardableResult
    public mutating func append(_ event: RecordedEvent, to out: inout [UInt8]) -> Int64 {
        let prepared = prepare(event)
        append(event, prepared: prepared, to: &out)
        return prepared.timestamp
    }

    // MARK: - Pieces

    /// Formats times as ``UTCTime``'s ISO 8601, reusing the text of the last second seen.
    private struct SecondCache: Sendable {
        var second = Int64.min
        var prefix: [UInt8] = []

        mutating func append(_ microseconds: Int64, to out: inout [UInt8]) {
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
            out.append(contentsOf: prefix)
            UTCTime.appendDigits(Int(fraction), 6, &out)
            out.append(0x5A)
        }
    }

    private static let prefixVersion = Array(#"{"v":1,"id":""#.utf8)
    private static let keyType = Array(#"","type":"#.utf8)
    private static let keyTs = Array(#","ts":""#.utf8)
    private static let keySource = Array(#","source":"#.utf8)
    private static let keyStream = Array(#","stream":"#.utf8)
    private static let keyPosition = Array(#","position":"#.utf8)
    private static let keyRevision = Array(#","revision":"#.utf8)
    private static let keyData = Array(#","data":"#.utf8)
    private static let keyMetadata = Array(#","metadata":"#.utf8)
    private static let keyRecordedAt = Array(#","recordedAt":""#.utf8)
    private static let keyContentType = Array(#","contentType":"#.utf8)
    private static let keyBase64 = Array(#","dataEncoding":"base64""#.utf8)
    private static let null = Array("null".utf8)
    private static let hex = Array("0123456789abcdef".utf8)

    /// Copies bytes that are one valid JSON value; line breaks (only ever whitespace between
    /// tokens in valid JSON) become spaces so the value stays on one line.
    static func appendJSON(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: bytes)
        if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            for k in start..<out.count where out[k] == 0x0A || out[k] == 0x0D { out[k] = 0x20 }
        }
    }

    static func appendNumber(_ value: UInt64, to out: inout [UInt8]) {
        let start = out.count
        var v = value
        repeat {
            out.append(UInt8(truncatingIfNeeded: 0x30 + v % 10))
            v /= 10
        } while v > 0
        out[start..<out.count].reverse()
    }

    /// Writes a JSON string (quotes included), escaping what RFC 8259 requires.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        var text = text
        text.withUTF8 { utf8 in
            if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                out.append(contentsOf: utf8)
                return
            }
            for b in utf8 {
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                case ..<0x20:
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 0x0F)])
                default: out.append(b)
                }
            }
        }
        out.append(0x22)
    }
}
