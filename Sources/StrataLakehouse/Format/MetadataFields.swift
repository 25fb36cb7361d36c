import Strata
import Foundation
import StrataJSON

/// The two metadata keys the lakehouse lifts onto each line: `"ts"` (ISO 8601, the event time)
/// and `"source"` (an object `{id, name?, class?, region?, worker?}`).
///
/// Metadata was checked to be one JSON object when it was appended (`AppendValidation`), so this
/// only walks the top level to find value boundaries; nothing is decoded.
struct MetadataFields {
    /// The event time from `"ts"`, when present and parseable.
    var timestamp: Int64?
    /// The byte range of the `"source"` object's value inside the metadata.
    var source: Range<Int>?

    init(_ metadata: UnsafeRawBufferPointer) {
        var i = 0
        let n = metadata.count
        @inline(__always) func skipSpace() {
            while i < n {
                let c = metadata[i]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                i += 1
            }
        }
        skipSpace()
        guard i < n, metadata[i] == UInt8(ascii: "{") else { return }
        i += 1
        while i < n {
            skipSpace()
            guard i < n, metadata[i] == UInt8(ascii: "\"") else { return }
            let keyStart = i + 1
            Self.skipString(metadata, &i)
            let keyEnd = i - 1
            skipSpace()
            guard i < n, metadata[i] == UInt8(ascii: ":") else { return }
            i += 1
            skipSpace()
            let valueStart = i
            Self.skipValue(metadata, &i)
            let keyLength = keyEnd - keyStart
            if keyLength == 2, metadata[keyStart] == UInt8(ascii: "t"), metadata[keyStart + 1] == UInt8(ascii: "s"),
               metadata[valueStart] == UInt8(ascii: "\"") {
                timestamp = UTCTime.parseISO8601(UnsafeRawBufferPointer(rebasing: metadata[(valueStart + 1)..<(i - 1)]))
            } else if keyLength == 6, metadata[valueStart] == UInt8(ascii: "{"),
                      Self.equals(metadata, keyStart, "source") {
                source = valueStart..<i
            }
            skipSpace()
            guard i < n, metadata[i] == UInt8(ascii: ",") else { return }
            i += 1
        }
    }

    private static func equals(_ b: UnsafeRawBufferPointer, _ at: Int, _ word: StaticString) -> Bool {
        let w = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount where b[at + k] != w[k] { return false }
        return true
    }

    static func skipString(_ b: UnsafeRawBufferPointer, _ i: inout Int) {
        i += 1
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            i += b[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
    }

    static func skipValue(_ b: UnsafeRawBufferPointer, _ i: inout Int) {
        guard i < b.count else { return }
        switch b[i] {
        case UInt8(ascii: "\""):
            skipString(b, &i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            repeat {
                switch b[i] {
                case UInt8(ascii: "\""): skipString(b, &i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
            } while depth > 0 && i < b.count
        default:
            while i < b.count {
                switch b[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return
                default: i += 1
                }
            }
        }
    }
}
