import Foundation

/// Why bytes are not one JSON value (RFC 8259), and where.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset of the problem.
    public let offset: Int
    /// The 1-based line of the problem.
    public let line: Int
    /// The 1-based column (in bytes) of the problem.
    public let column: Int
    /// What is wrong.
    public let reason: String

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// A strict JSON parser (RFC 8259: UTF-8, one value, no trailing commas or comments) that keeps
/// object members in document order. It is the parser of config files and of event payloads
/// at append time, where it is several times faster than `JSONSerialization`.
public enum JSONParser {
    /// The deepest nesting accepted, the same as the store's JSON syntax check.
    public static let maxDepth = 512

    /// Parses one JSON value from UTF-8 bytes.
    /// - Throws: ``JSONParseError`` naming the line and column of the first problem.
    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in try parse(raw) }
        }
        return try result.get()
    }

    private static func parse(_ raw: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: raw)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        if reader.index != raw.count { throw reader.failure("unexpected text after the JSON value") }
        return value
    }

    /// Parses one JSON value from a string.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Data(text.utf8))
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        /// Bytes of the current string when it holds escapes; reused between strings.
        var scratch: [UInt8] = []

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func failure(_ reason: String, at offset: Int? = nil) -> JSONParseError {
            let end = min(offset ?? index, bytes.count)
            var line = 1
            var lineStart = 0
            for i in 0..<end where bytes[i] == 0x0A {
                line += 1
                lineStart = i + 1
            }
            return JSONParseError(offset: end, line: line, column: end - lineStart + 1, reason: reason)
        }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
            guard let c = peek() else { throw failure("unexpected end of input, expected a value") }
            switch c {
            case UInt8(ascii: "{"):
                guard depth < JSONParser.maxDepth else { throw failure("nested deeper than \(JSONParser.maxDepth) levels") }
                return try object(depth: depth + 1)
            case UInt8(ascii: "["):
                guard depth < JSONParser.maxDepth else { throw failure("nested deeper than \(JSONParser.maxDepth) levels") }
                return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("unexpected character \(describe(c)), expected a value")
            }
        }

        func describe(_ c: UInt8) -> String {
            c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
        }

        mutating func literal(_ word: StaticString) throws(JSONParseError) {
            let n = word.utf8CodeUnitCount
            let w = word.utf8Start
            for i in 0..<n where index + i >= bytes.count || bytes[index + i] != w[i] {
                throw failure("invalid literal, expected \(word)")
            }
            index += n
        }

        mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
            index += 1
            var members: [JSONMember] = []
            skipSpace()
            if peek() == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let key = try string()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after the key \"\(key)\"") }
                index += 1
                skipSpace()
                let value = try value(depth: depth)
                members.append(JSONMember(key, value))
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw failure("expected ',' or '}' in an object")
                }
            }
        }

        mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
            index += 1
            var elements: [JSONValue] = []
            skipSpace()
            if peek() == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipSpace()
                elements.append(try value(depth: depth))
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(elements)
                default: throw failure("expected ',' or ']' in an array")
                }
            }
        }

        mutating func string() throws(JSONParseError) -> String {
            let start = index
            index += 1
            var ascii = true
            // Fast path: no escapes, the string is a slice of the input.
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<index])
                    index += 1
                    if ascii { return String(decoding: slice, as: UTF8.self) }
                    guard let s = String(validating: slice, as: UTF8.self) else { throw failure("invalid UTF-8 in a string", at: start) }
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw failure("unescaped control character in a string") }
                if c >= 0x80 { ascii = false }
                index += 1
            }
            guard index < bytes.count else { throw failure("unterminated string", at: start) }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<index]))
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    index += 1
                    guard let s = String(validating: scratch, as: UTF8.self) else { throw failure("invalid UTF-8 in a string", at: start) }
                    return s
                }
                if c < 0x20 { throw failure("unescaped control character in a string") }
                if c != UInt8(ascii: "\\") {
                    scratch.append(c)
                    index += 1
                    continue
                }
                index += 1
                guard let e = peek() else { break }
                index += 1
                switch e {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw failure("unpaired surrogate in a \\u escape")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw failure("unpaired surrogate in a \\u escape")
                    }
                    scratch.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw failure("invalid escape '\\\(Character(Unicode.Scalar(e)))' in a string", at: index - 2)
                }
            }
            throw failure("unterminated string", at: start)
        }

        mutating func hex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw failure("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: throw failure("invalid hex digit in a \\u escape")
                }
                v = v << 4 | UInt32(d)
                index += 1
            }
            return v
        }

        mutating func number() throws(JSONParseError) -> JSONValue {
            let start = index
            var negative = false
            if peek() == UInt8(ascii: "-") { negative = true; index += 1 }
            guard let first = peek(), first >= 0x30, first <= 0x39 else { throw failure("invalid number: expected a digit") }
            var magnitude: UInt64 = 0
            var digitCount = 0
            if first == 0x30 {
                index += 1
                digitCount = 1
                if let next = peek(), next >= 0x30, next <= 0x39 { throw failure("invalid number: leading zero") }
            } else {
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                    if digitCount < 19 { magnitude = magnitude &* 10 &+ UInt64(bytes[index] - 0x30) }
                    digitCount += 1
                    index += 1
                }
            }
            var integral = true
            if peek() == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard try digits() > 0 else { throw failure("invalid number: expected digits after '.'") }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                integral = false
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard try digits() > 0 else { throw failure("invalid number: expected exponent digits") }
            }
            // 18 digits always fit in Int64; longer integers go through Double like fractions.
            if integral && digitCount <= 18 {
                return .integer(negative ? -Int64(magnitude) : Int64(magnitude))
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let d = Double(text), d.isFinite else { throw failure("number out of range", at: start) }
            if integral, let i = Int64(text) { return .integer(i) }
            return .number(d)
        }

        mutating func digits() throws(JSONParseError) -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }
    }
}
