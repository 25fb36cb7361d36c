import Foundation
import Strata

/// The top-level fields of one JSON object, each value kept as its raw bytes: bulk input embeds
/// `data` and `metadata` byte for byte instead of parsing and re-serializing them.
public struct JSONObjectFields: Sendable {
    /// Field names in input order, with the byte range of each value inside ``bytes``.
    public private(set) var fields: [(name: String, value: Range<Int>)] = []
    /// The object's bytes.
    public let bytes: [UInt8]

    /// Splits a line holding one JSON object.
    /// - Throws: a reason string when the line is not one valid JSON object or repeats a key.
    public init(_ line: [UInt8]) throws(InputProblem) {
        bytes = line
        guard JSONSyntax.isObject(Data(line)) else { throw InputProblem("not a valid JSON object") }
        // The syntax is valid from here on, so the walk below only has to find boundaries.
        var i = 0
        skipSpace(&i)
        i += 1  // {
        var seen = Set<String>()
        while true {
            skipSpace(&i)
            if bytes[i] == UInt8(ascii: "}") { break }
            if bytes[i] == UInt8(ascii: ",") { i += 1; skipSpace(&i) }
            let keyStart = i
            skipString(&i)
            let name = try JSONObjectFields.decodeString(bytes[keyStart..<i])
            if !seen.insert(name).inserted { throw InputProblem("key \"\(name)\" appears twice") }
            skipSpace(&i)
            i += 1  // :
            skipSpace(&i)
            let valueStart = i
            skipValue(&i)
            fields.append((name, valueStart..<i))
        }
    }

    /// The raw bytes of a field's value, if present.
    public func raw(_ name: String) -> ArraySlice<UInt8>? {
        fields.first { $0.name == name }.map { bytes[$0.value] }
    }

    /// A field that must be a JSON string, decoded; nil when absent.
    public func string(_ name: String) throws(InputProblem) -> String? {
        guard let raw = raw(name) else { return nil }
        guard raw.first == UInt8(ascii: "\"") else { throw InputProblem("\"\(name)\" must be a string") }
        return try JSONObjectFields.decodeString(raw)
    }

    /// The raw bytes of each element of a JSON array value (a field's ``raw(_:)`` bytes).
    /// - Throws: when the bytes are not an array.
    public static func arrayElements(_ raw: ArraySlice<UInt8>) throws(InputProblem) -> [ArraySlice<UInt8>] {
        guard raw.first == UInt8(ascii: "[") else { throw InputProblem("expected a JSON array") }
        // The syntax was checked when the enclosing object was split, so only boundaries are found here.
        let walker = JSONObjectFields(validatedBytes: Array(raw))
        var elements: [ArraySlice<UInt8>] = []
        var i = 1
        walker.skipSpace(&i)
        if walker.bytes[i] == UInt8(ascii: "]") { return [] }
        while true {
            walker.skipSpace(&i)
            let start = i
            walker.skipValue(&i)
            elements.append(raw[(raw.startIndex + start)..<(raw.startIndex + i)])
            walker.skipSpace(&i)
            if walker.bytes[i] == UInt8(ascii: "]") { return elements }
            i += 1  // ,
        }
    }

    /// The numeric or literal text of a field (`12`, `true`, `null`), nil when absent.
    public func scalar(_ name: String) -> String? {
        guard let raw = raw(name), raw.first != UInt8(ascii: "\""), raw.first != UInt8(ascii: "{"), raw.first != UInt8(ascii: "[") else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    private init(validatedBytes: [UInt8]) { bytes = validatedBytes }

    private func skipSpace(_ i: inout Int) {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
    }

    private func skipString(_ i: inout Int) {
        i += 1
        while bytes[i] != UInt8(ascii: "\"") {
            i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
    }

    private func skipValue(_ i: inout Int) {
        switch bytes[i] {
        case UInt8(ascii: "\""):
            skipString(&i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            repeat {
                switch bytes[i] {
                case UInt8(ascii: "\""): skipString(&i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
            } while depth > 0
        default:
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return
                default: i += 1
                }
            }
        }
    }

    /// Decodes a valid JSON string token (quotes included).
    public static func decodeString(_ token: ArraySlice<UInt8>) throws(InputProblem) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        var i = token.startIndex + 1
        let end = token.endIndex - 1
        while i < end {
            let c = token[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = token[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(token, i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= end, token[i] == UInt8(ascii: "\\"), token[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(token, i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                guard let s = Unicode.Scalar(scalar) else { throw InputProblem("a string holds an unpaired surrogate \\u escape") }
                out.append(contentsOf: String(Character(s)).utf8)
            default: out.append(e)  // \" \\ \/
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw InputProblem("a string is not valid UTF-8") }
        return text
    }

    private static func hex4(_ token: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = token[at + k]
            let d: UInt8 = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10
            v = v << 4 | UInt32(d)
        }
        return v
    }
}

/// Why a line of input was rejected.
public struct InputProblem: Error, Sendable, CustomStringConvertible {
    /// What is wrong, for the user.
    public let description: String
    /// Creates a problem report.
    public init(_ description: String) { self.description = description }
}
