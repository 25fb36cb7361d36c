import Foundation

/// A fast, allocation-free JSON syntax check (RFC 8259), used on the append path where parsing
/// into objects would cost far more than the check itself.
public enum JSONSyntax {
    /// The deepest nesting accepted.
    public static let maxDepth = 512

    /// Whether the bytes are one valid JSON value whose top level is an object (and valid UTF-8).
    public static func isObject(_ data: Data) -> Bool {
        guard isUTF8(data) else { return false }
        return data.withUnsafeBytes { raw in
            var p = Parser(bytes: raw)
            p.skipSpace()
            guard p.peek() == UInt8(ascii: "{") else { return false }
            guard p.value(depth: 0) else { return false }
            p.skipSpace()
            return p.index == raw.count
        }
    }

    /// Whether the bytes are one valid JSON value of any kind (and valid UTF-8).
    public static func isValid(_ data: Data) -> Bool {
        guard isUTF8(data) else { return false }
        return data.withUnsafeBytes { raw in
            var p = Parser(bytes: raw)
            p.skipSpace()
            guard p.value(depth: 0) else { return false }
            p.skipSpace()
            return p.index == raw.count
        }
    }

    /// RFC 8259 requires UTF-8; ASCII (the usual case) is checked without decoding.
    static func isUTF8(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            if !raw.contains(where: { $0 >= 0x80 }) { return true }
            return String(validating: raw, as: UTF8.self) != nil
        }
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> Bool {
            guard let c = peek() else { return false }
            // The limit counts containers, as JSONParser's does: a scalar inside `maxDepth`
            // containers is accepted (Fuzz/FuzzJSON found the two disagreeing there).
            switch c {
            case UInt8(ascii: "{"): return depth < JSONSyntax.maxDepth && object(depth: depth + 1)
            case UInt8(ascii: "["): return depth < JSONSyntax.maxDepth && array(depth: depth + 1)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard index + n <= bytes.count else { return false }
            let w = word.utf8Start
            for i in 0..<n where bytes[index + i] != w[i] { return false }
            index += n
            return true
        }

        mutating func object(depth: Int) -> Bool {
            index += 1
            skipSpace()
            if peek() == UInt8(ascii: "}") { index += 1; return true }
            while true {
                skipSpace()
                guard peek() == UInt8(ascii: "\""), string() else { return false }
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { return false }
                index += 1
                skipSpace()
                guard value(depth: depth) else { return false }
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return true
                default: return false
                }
            }
        }

        mutating func array(depth: Int) -> Bool {
            index += 1
            skipSpace()
            if peek() == UInt8(ascii: "]") { index += 1; return true }
            while true {
                skipSpace()
                guard value(depth: depth) else { return false }
                skipSpace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return true
                default: return false
                }
            }
        }

        mutating func string() -> Bool {
            index += 1
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") { index += 1; return true }
                if c < 0x20 { return false }
                if c == UInt8(ascii: "\\") {
                    index += 1
                    guard let e = peek() else { return false }
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                         UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        guard let unit = hexUnit(at: index + 1) else { return false }
                        index += 5
                        // Surrogates come in pairs, as every other JSON reader here requires
                        // (a lone one was accepted; found by Fuzz/FuzzJSON).
                        if (0xDC00...0xDFFF).contains(unit) { return false }
                        if (0xD800...0xDBFF).contains(unit) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                                  let low = hexUnit(at: index + 2), (0xDC00...0xDFFF).contains(low) else { return false }
                            index += 6
                        }
                    default: return false
                    }
                } else {
                    index += 1
                }
            }
            return false
        }

        /// The 16-bit value of the four hex digits at `at`, or nil.
        func hexUnit(at start: Int) -> UInt16? {
            guard start + 4 <= bytes.count else { return nil }
            var value: UInt16 = 0
            for i in start..<start + 4 {
                let c = bytes[i]
                guard isHex(c) else { return nil }
                value = value << 4 | UInt16(c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10)
            }
            return value
        }

        func isHex(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
        }

        mutating func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }

        mutating func number() -> Bool {
            let start = index
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard let first = peek(), first >= 0x30, first <= 0x39 else { return false }
            var integerDigits = 1
            if first == 0x30 { index += 1 } else { integerDigits = digits() }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return false }
            }
            var hasExponent = false
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                hasExponent = true
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return false }
            }
            // A number beyond Double's range is refused, as JSONParser, DocumentJSON and
            // StrataJSON refuse it (Fuzz/FuzzJSON found payloads this check let through that
            // every reader then failed on). Only a number that could overflow is converted.
            if hasExponent || integerDigits > 300 {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                guard let value = Double(text), value.isFinite else { return false }
            }
            return true
        }
    }
}
