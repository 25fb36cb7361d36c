// Differential fuzzing of every JSON reader in Strata on the same bytes. All of them stand on
// StrataJSON's one parser (JSONTree, the tape of StrataJSONDecoder), each with its own value
// builder; Foundation is the independent reference:
//
//   A  JSONValue(parsing:)          (config files, schemas; strict RFC 8259, depth 512)
//   B  JSONSyntax.isValid           (the append-time syntax check; must agree with A exactly)
//   C  StrataDocuments.DocumentJSON (documents; depth 256, objects keep the last duplicate)
//   D  StrataJSONDecoder            (Codable; decoded into a generic value)
//   E  Foundation.JSONSerialization (the reference for values)
//   F  JSONObjectFields             (request bodies: top-level object, raw member values)
//
// Where they should agree they must, on accept/reject and on values; the documented
// differences (DocumentJSON's depth limit and duplicate keys, StrataJSONDecoder's byte order
// mark, Foundation's encoding detection and leniency) are excluded explicitly below.
import Foundation
import FuzzSupport
import Strata
import StrataJSON
@testable import StrataDocuments

/// A parsed value in a common shape.
indirect enum Value: CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([Value])
    /// Members in document order (possibly repeated keys) or in key order for unordered parsers.
    case object([(String, Value)])

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)d"
        case .string(let s): String(reflecting: s)
        case .array(let a): "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let m): "{" + m.map { "\(String(reflecting: $0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
    }

    /// Objects as sorted, last-duplicate-wins member lists (what a dictionary keeps).
    var normalized: Value {
        switch self {
        case .array(let a): return .array(a.map(\.normalized))
        case .object(let m):
            var d: [String: Value] = [:]
            for (k, v) in m { d[k] = v.normalized }
            return .object(d.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) })
        default: return self
        }
    }

    var hasDuplicateKeys: Bool {
        switch self {
        case .array(let a): return a.contains { $0.hasDuplicateKeys }
        case .object(let m): return Set(m.map(\.0)).count != m.count || m.contains { $0.1.hasDuplicateKeys }
        default: return false
        }
    }

    /// Container nesting depth (a scalar is 0).
    var depth: Int {
        switch self {
        case .array(let a): return 1 + (a.map(\.depth).max() ?? 0)
        case .object(let m): return 1 + (m.map(\.1.depth).max() ?? 0)
        default: return 0
        }
    }
}

/// Same value: numbers compare numerically whatever their representation.
func same(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.int(x), .int(y)): return x == y
    case let (.int(x), .double(y)), let (.double(y), .int(x)): return Double(x) == y
    case let (.double(x), .double(y)): return x == y
    case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case let (.object(x), .object(y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && same($0.1, $1.1) }
    default: return false
    }
}

func from(_ v: JSONValue) -> Value {
    switch v {
    case .null: .null
    case .bool(let b): .bool(b)
    case .integer(let i): .int(i)
    case .number(let d): .double(d)
    case .string(let s): .string(s)
    case .array(let a): .array(a.map(from))
    case .object(let m): .object(m.map { ($0.key, from($0.value)) })
    }
}

func from(_ v: DocumentValue) -> Value {
    switch v {
    case .null: .null
    case .bool(let b): .bool(b)
    case .int(let i): .int(i)
    case .double(let d): .double(d)
    case .string(let s): .string(s)
    case .array(let a): .array(a.map(from))
    case .object(let m): .object(m.map { ($0.key, from($0.value)) })
    }
}

/// Any JSON value through a Decodable decoder.
struct AnyJSON: Decodable {
    let value: Value
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null }
        else if let b = try? c.decode(Bool.self) { value = .bool(b) }
        else if let i = try? c.decode(Int64.self) { value = .int(i) }
        else if let d = try? c.decode(Double.self) { value = .double(d) }
        else if let s = try? c.decode(String.self) { value = .string(s) }
        else if let a = try? c.decode([AnyJSON].self) { value = .array(a.map(\.value)) }
        else { value = .object(try c.decode([String: AnyJSON].self).map { ($0.key, $0.value.value) }) }
    }
}

func from(foundation any: Any) -> Value? {
    switch any {
    case is NSNull: return .null
    case let s as String: return .string(s)
    case let a as [Any]:
        var out: [Value] = []
        for e in a { guard let v = from(foundation: e) else { return nil }; out.append(v) }
        return .array(out)
    case let d as [String: Any]:
        var out: [(String, Value)] = []
        for (k, e) in d { guard let v = from(foundation: e) else { return nil }; out.append((k, v)) }
        return .object(out)
    // Integers beyond 64 bits come as NSDecimalNumber (38 significant digits), whose
    // doubleValue is off by several ulps (9223372036847758700…0 with 73 digits: 9.223372036847762e72,
    // correctly rounded 9.223372036847759e72). Its digits, parsed as a Double, are correctly
    // rounded; the 38-digit truncation moves the value far less than one ulp.
    case let n as NSDecimalNumber: return .double(Double(n.stringValue) ?? n.doubleValue)
    case let n as NSNumber: return .double(n.doubleValue)
    case let b as Bool: return .bool(b)
    case let i as Int: return .int(Int64(i))
    case let d as Double: return .double(d)
    default: return nil
    }
}

/// Numbers and booleans blur in Foundation's NSNumber: compare them loosely there.
func sameLoosely(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.bool(let x), .bool(let y)): return x == y
    case (.bool(let x), .double(let y)), (.double(let y), .bool(let x)): return (x ? 1.0 : 0.0) == y
    case (.bool(let x), .int(let y)), (.int(let y), .bool(let x)): return (x ? 1 : 0) == y
    case let (.int(x), .double(y)), let (.double(y), .int(x)):
        return Double(x) == y || Double(x).nextUp == y || Double(x).nextDown == y
    case let (.double(x), .double(y)): return x == y || x.nextUp == y || x.nextDown == y
    case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { sameLoosely($0, $1) }
    case let (.object(x), .object(y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && sameLoosely($0.1, $1.1) }
    default: return same(a, b)
    }
}

func fail(_ what: String, _ input: [UInt8]) -> Never {
    let shown = String(decoding: input.prefix(300), as: UTF8.self)
    fatalError("JSON parsers disagree: \(what)\ninput (\(input.count) bytes): \(String(reflecting: shown))")
}

let strataJSON = StrataJSONDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let input = Data(bytes)

    // A and B: the strict parser and the syntax check must agree exactly.
    let a: Value? = (try? JSONValue(parsing: input)).map(from)
    let b = JSONSyntax.isValid(input)
    if (a != nil) != b { fail("JSONValue \(a == nil ? "rejects" : "accepts") but JSONSyntax.isValid says \(b)", bytes) }
    if let a, case .object = a, !JSONSyntax.isObject(input) { fail("JSONSyntax.isObject rejects an object", bytes) }

    let depth = a?.depth ?? 0
    let duplicates = a?.hasDuplicateKeys ?? false

    // C: documents. Same grammar; depth at most 256; a repeated key keeps its last value.
    let c: Value? = (try? DocumentJSON.parse(bytes)).map(from)
    if let a {
        if depth <= DocumentJSON.maxDepth {
            guard let c else { fail("DocumentJSON rejects what JSONValue accepts", bytes) }
            if !same(a.normalized, c.normalized) { fail("DocumentJSON reads \(c.normalized), JSONValue \(a.normalized)", bytes) }
        }
    } else if c != nil {
        fail("DocumentJSON accepts what JSONValue rejects", bytes)
    }

    // D: StrataJSON. Same grammar, except that it skips a leading byte order mark.
    let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
    let d: Value? = (try? strataJSON.decode(AnyJSON.self, from: bytes))?.value
    if !hasBOM {
        if (a != nil) != (d != nil) { fail("StrataJSON \(d == nil ? "rejects" : "accepts") what JSONValue \(a == nil ? "rejects" : "accepts")", bytes) }
        if let a, let d, !duplicates, !same(a.normalized, d.normalized) {
            fail("StrataJSON reads \(d.normalized), JSONValue \(a.normalized)", bytes)
        }
    }

    // E: Foundation, on inputs it reads as UTF-8 (it guesses UTF-16/32 from NUL bytes).
    if !bytes.contains(0), !hasBOM, let a, !duplicates {
        if let object = try? JSONSerialization.jsonObject(with: input, options: [.fragmentsAllowed]) {
            if let e = from(foundation: object), !sameLoosely(a.normalized, e.normalized) {
                fail("Foundation reads \(e.normalized), JSONValue \(a.normalized)", bytes)
            }
        }
    }

    // F: request bodies. An object without repeated top-level keys splits into its members,
    // each of whose raw bytes parses to the member's value.
    let f = try? JSONObjectFields(bytes)
    if let a, case .object(let members) = a, Set(members.map(\.0)).count == members.count {
        guard let f else { fail("JSONObjectFields rejects an object JSONValue accepts", bytes) }
        if f.fields.count != members.count { fail("JSONObjectFields finds \(f.fields.count) members, not \(members.count)", bytes) }
        for (field, member) in zip(f.fields, members) {
            if field.name != member.0 { fail("JSONObjectFields reads key \(String(reflecting: field.name)), not \(String(reflecting: member.0))", bytes) }
            guard let raw = try? JSONValue(parsing: f.bytes[field.value]) else { fail("a member's raw bytes do not parse", bytes) }
            if !same(from(raw), member.1) { fail("a member's raw bytes read \(from(raw)), not \(member.1)", bytes) }
            if case .string(let s) = member.1, (try? f.string(member.0)) != s { fail("JSONObjectFields.string differs", bytes) }
        }
    } else if f != nil, a == nil {
        fail("JSONObjectFields accepts what JSONValue rejects", bytes)
    }
    return 0
}

@_cdecl("FuzzJSON_main")
public func FuzzJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzz)
}
