/// A parsed JSON value. Object members keep the order of the document, so config files keep
/// the property order their authors wrote (generated code follows it).
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, its members in document order (duplicate keys are kept as written).
    case object([JSONMember])

    /// The JSON kind's name as JSON Schema spells it: `null`, `boolean`, `integer`, `number`,
    /// `string`, `array` or `object`. Integral numbers written with a fraction (`2.0`) are `integer`.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number(let d): JSONValue.isIntegral(d) ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value of the first member named `key`, when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The numeric value, when this is a number.
    public var numberValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer, when this is a number with a whole value that fits in 64 bits.
    public var integerValue: Int64? {
        switch self {
        case .integer(let i): i
        case .number(let d): JSONValue.isIntegral(d) ? Int64(exactly: d) : nil
        default: nil
        }
    }

    /// The value, when this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// Whether a double is a whole number (JSON Schema counts `2.0` as an integer).
    public static func isIntegral(_ d: Double) -> Bool {
        d.isFinite && d.rounded(.towardZero) == d
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Hashable {
    /// The member's key.
    public var key: String
    /// The member's value.
    public var value: JSONValue

    /// Creates a member.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension JSONValue {
    /// Parses one JSON text (RFC 8259: UTF-8, one value, no trailing commas or comments). Object
    /// members keep their document order, a repeated key included; integers that fit in 64 bits
    /// are ``integer(_:)``, other numbers ``number(_:)``.
    /// - Throws: ``StrataJSONSyntaxError`` naming the line, column and byte of the first problem.
    public init(parsing bytes: some Collection<UInt8>) throws {
        self = try JSONTree.parse(bytes) { tree in try JSONValue(tree, tree.root) }
    }

    /// Parses one JSON text from a string.
    public init(parsing text: String) throws {
        try self.init(parsing: Array(text.utf8))
    }

    /// The value of node `node` of a parsed tree.
    /// - Throws: ``StrataJSONSyntaxError`` for a number beyond `Double`'s range.
    public init(_ tree: JSONTree, _ node: Int) throws {
        switch tree.kind(node) {
        case .null: self = .null
        case .bool: self = .bool(tree.bool(node))
        case .string: self = .string(tree.string(node))
        case .number:
            switch tree.number(node) {
            case .integer(let i): self = .integer(i)
            case .double(let d): self = .number(d)
            case nil: throw tree.syntaxError(at: node, "a number out of range")
            }
        case .array:
            var elements: [JSONValue] = []
            elements.reserveCapacity(tree.elementCount(node))
            try tree.forEachElement(of: node) { elements.append(try JSONValue(tree, $0)) }
            self = .array(elements)
        case .object:
            var members: [JSONMember] = []
            members.reserveCapacity(tree.elementCount(node))
            try tree.forEachMember(of: node) { key, value in members.append(JSONMember(tree.string(key), try JSONValue(tree, value))) }
            self = .object(members)
        }
    }
}
