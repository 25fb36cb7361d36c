import Foundation
import Strata

/// The JSON reader and writer of documents and document events.
///
/// Foundation's coders cap a per-event path at about 100–150 k values a second; documents are
/// parsed on every applied event and written on every put, so this module reads and writes JSON
/// by hand (RFC 8259, UTF-8 only, nesting at most ``maxDepth`` deep).
enum DocumentJSON {
    /// The deepest nesting accepted.
    static let maxDepth = 256

    static func parse(_ bytes: some Collection<UInt8>) throws -> DocumentValue {
        let result: DocumentValue? = try bytes.withContiguousStorageIfAvailable { try parse(buffer: UnsafeRawBufferPointer($0)) }
        if let result { return result }
        return try Array(bytes).withUnsafeBytes { try parse(buffer: $0) }
    }

    static func parse(buffer: UnsafeRawBufferPointer) throws -> DocumentValue {
        var reader = Reader(bytes: buffer)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        if reader.index != buffer.count { throw reader.failure("unexpected text after the JSON value") }
        return value
    }

    // MARK: Writing

    static func write(_ value: DocumentValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: nullBytes)
        case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
        case .int(let i): writeInt(i, into: &out)
        case .double(let d): writeDouble(d, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            writeObject(o, addingID: nil, into: &out)
        }
    }

    /// Writes an object with members sorted by key; `addingID` adds an `"id"` member (when the
    /// object has none) without copying the object.
    static func writeObject(_ o: [String: DocumentValue], addingID: String?, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var keys = Array(o.keys)
        if addingID != nil, o["id"] == nil { keys.append("id") }
        keys.sort(by: utf8Less)
        var first = true
        for key in keys {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            if let value = o[key] { write(value, into: &out) } else { writeString(addingID!, into: &out) }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Object members are written in the byte order of their keys, so output is the same on
    /// every platform and run.
    static func utf8Less(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let hex = Array("0123456789abcdef".utf8)

    static func writeInt(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    static func writeDouble(_ value: Double, into out: inout [UInt8]) {
        // Non-finite numbers are refused when documents are written; null keeps output valid JSON.
        guard value.isFinite else { out.append(contentsOf: nullBytes); return }
        out.append(contentsOf: value.description.utf8)
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0 ..< 0x20:
                out.append(contentsOf: Array(#"\u00"#.utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Reading

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func failure(_ reason: String) -> StrataError {
            .invalidArgument("invalid JSON at byte \(index): \(reason)")
        }

        @inline(__always) func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws -> DocumentValue {
            guard let c = peek() else { throw failure("unexpected end of input") }
            // The limit counts containers, as the other JSON readers' do: a scalar inside
            // `maxDepth` containers is accepted (Fuzz/FuzzJSON found the readers disagreeing).
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < DocumentJSON.maxDepth else { throw failure("nested deeper than \(DocumentJSON.maxDepth) levels") }
                return c == UInt8(ascii: "{") ? try object(depth: depth + 1) : try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default: return try number()
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let n = word.utf8CodeUnitCount
            guard index + n <= bytes.count else { throw failure("unexpected end of input") }
            let w = word.utf8Start
            for i in 0 ..< n where bytes[index + i] != w[i] { throw failure("unexpected character") }
            index += n
        }

        mutating func object(depth: Int) throws -> DocumentValue {
            index += 1
            var members: [String: DocumentValue] = [:]
            skipSpace()
            if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                let key = try string()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipSpace()
                members[key] = try value(depth: depth)
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw failure("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws -> DocumentValue {
            index += 1
            var elements: [DocumentValue] = []
            skipSpace()
            if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipSpace()
                elements.append(try value(depth: depth))
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(elements)
                default: throw failure("expected ',' or ']'")
                }
            }
        }

        mutating func string() throws -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[start ..< index])
                    index += 1
                    guard let s = String(validating: slice, as: UTF8.self) else { throw failure("a string is not valid UTF-8") }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw failure("a control character inside a string") }
                index += 1
            }
            var buffer = Array(UnsafeRawBufferPointer(rebasing: bytes[start ..< index]))
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    index += 1
                    guard let s = String(validating: buffer, as: UTF8.self) else { throw failure("a string is not valid UTF-8") }
                    return s
                }
                if c < 0x20 { throw failure("a control character inside a string") }
                if c != UInt8(ascii: "\\") { buffer.append(c); index += 1; continue }
                index += 1
                guard let e = peek() else { break }
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(e)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800 ..< 0xDC00).contains(scalar) {
                        guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("an unpaired surrogate escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00 ..< 0xE000).contains(low) else { throw failure("an unpaired surrogate escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00 ..< 0xE000).contains(scalar) {
                        throw failure("an unpaired surrogate escape")
                    }
                    buffer.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw failure("an invalid escape")
                }
            }
            throw failure("an unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw failure("a short \\u escape") }
            var v: UInt32 = 0
            for _ in 0 ..< 4 {
                let c = bytes[index]
                let d: UInt32
                switch c {
                case 0x30 ... 0x39: d = UInt32(c - 0x30)
                case 0x41 ... 0x46: d = UInt32(c - 0x41 + 10)
                case 0x61 ... 0x66: d = UInt32(c - 0x61 + 10)
                default: throw failure("a bad \\u escape")
                }
                v = v << 4 | d
                index += 1
            }
            return v
        }

        mutating func number() throws -> DocumentValue {
            let start = index
            var negative = false
            if peek() == UInt8(ascii: "-") { negative = true; index += 1 }
            guard let first = peek(), first >= 0x30, first <= 0x39 else { throw failure("unexpected character") }
            var integral = true
            var magnitude: UInt64 = 0
            var overflow = false
            if first == 0x30 {
                index += 1
            } else {
                while let c = peek(), c >= 0x30, c <= 0x39 {
                    let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 0x30))
                    overflow = overflow || o1 || o2
                    magnitude = m2
                    index += 1
                }
            }
            if peek() == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard let c = peek(), c >= 0x30, c <= 0x39 else { throw failure("a digit must follow '.'") }
                while let c = peek(), c >= 0x30, c <= 0x39 { index += 1 }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                integral = false
                index += 1
                if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { index += 1 }
                guard let c = peek(), c >= 0x30, c <= 0x39 else { throw failure("a digit must follow the exponent") }
                while let c = peek(), c >= 0x30, c <= 0x39 { index += 1 }
            }
            if integral && !overflow {
                if !negative, magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
                if negative, magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)) }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start ..< index]), as: UTF8.self)
            guard let d = Double(text), d.isFinite else { throw failure("a number out of range") }
            return .double(d)
        }
    }
}
