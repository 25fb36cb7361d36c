import Foundation

/// A JSON value as documents hold it.
///
/// Integers and doubles are kept apart so that integers round-trip exactly (a `Double` loses
/// integers above 2^53), but filters and sorting compare them as numbers: `30` matches `30.0`,
/// and neither matches the string `"30"` (see ``DocumentOrder``). Swift's `==` on values is
/// structural: `.int(30) != .double(30)`.
///
/// Write JSON `null` as `.null` (there is deliberately no `nil` literal: an optional
/// `DocumentValue?` would otherwise be ambiguous).
///
/// ```swift
/// let doc: DocumentValue = ["name": "Ada", "age": 36, "tags": ["math", "engines"]]
/// ```
public enum DocumentValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case int(Int64)
    /// Any other number (always finite).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([DocumentValue])
    /// An object; member order is not significant (JSON output sorts members by key).
    case object([String: DocumentValue])

    /// The member `key` of an object (`nil` for other values or a missing member); setting it on
    /// an object adds or replaces the member, setting `nil` removes it.
    public subscript(key: String) -> DocumentValue? {
        get { if case .object(let o) = self { o[key] } else { nil } }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    /// The members, if this is an object.
    public var objectValue: [String: DocumentValue]? { if case .object(let o) = self { o } else { nil } }
    /// The elements, if this is an array.
    public var arrayValue: [DocumentValue]? { if case .array(let a) = self { a } else { nil } }
    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    /// The number as an `Int64`, if this is an integer (or a double with an integral value).
    public var intValue: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d): d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
        default: nil
        }
    }
    /// The boolean, if this is one.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The value at a dotted path of object members (`"address.city"`), without array expansion.
    public func value(atPath path: String) -> DocumentValue? {
        var current = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let next = current[String(part)] else { return nil }
            current = next
        }
        return current
    }

    /// Parses JSON text (UTF-8 bytes).
    /// - Throws: `StrataError.invalidArgument(_:)` naming the offset of the first error.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> DocumentValue {
        try DocumentJSON.parse(bytes)
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws -> DocumentValue {
        try DocumentJSON.parse(Array(text.utf8))
    }

    /// Compact JSON text with object members sorted by key (deterministic output).
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        DocumentJSON.write(self, into: &out)
        return out
    }

    /// Compact JSON text with object members sorted by key.
    public var jsonString: String { String(decoding: jsonBytes, as: UTF8.self) }
}

extension DocumentValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: DocumentValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, DocumentValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension DocumentValue: CustomStringConvertible {
    public var description: String { jsonString }
}

extension DocumentValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let i = try? container.decode(Int64.self) { self = .int(i) }
        else if let d = try? container.decode(Double.self) { self = .double(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([DocumentValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: DocumentValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}
