/// The declarations generated code is made of, before they are printed.
indirect enum SwiftDecl {
    case structure(StructDecl)
    case stringEnum(StringEnumDecl)
    case alternatives(AlternativesDecl)
    case alias(name: String, doc: String?, target: String)
}

/// A Codable struct: an event, its metadata, a nested object or a definition.
struct StructDecl {
    var name: String
    var doc: String?
    var conformances: [String]
    /// Set for event structs: the `static let eventType` value.
    var eventType: String?
    var fields: [FieldDecl] = []
    var nested: [SwiftDecl] = []

    /// A nullable field that must be present needs an explicit `null` on encoding, which the
    /// synthesized encoder (`encodeIfPresent`) would omit.
    var needsCustomEncode: Bool { fields.contains { $0.nullable && !$0.optional } }
}

/// One stored property of a struct.
struct FieldDecl {
    /// The JSON key.
    var key: String
    /// The Swift property name (unescaped).
    var name: String
    /// The Swift type without the trailing `?`.
    var type: String
    /// May be absent.
    var optional: Bool
    /// May be `null`.
    var nullable: Bool
    var doc: String?

    var spelledType: String { optional || nullable ? type + "?" : type }
}

/// A `String`-backed enum from a string `enum`.
struct StringEnumDecl {
    var name: String
    var doc: String?
    /// (case name, raw value), in config order.
    var cases: [(name: String, raw: String)]
}

/// An enum with associated values from an `anyOf`, with Codable that tries each alternative in order.
struct AlternativesDecl {
    var name: String
    var doc: String?
    /// (case name, payload type; `nil` for the `null` alternative), in config order.
    var cases: [(name: String, type: String?)]
    var nested: [SwiftDecl] = []
}

/// A Swift type as a field, element or payload uses it.
struct TypeRef {
    var text: String
    /// The value may be `null` (an `anyOf` with a `null` alternative).
    var nullable = false

    init(_ text: String, nullable: Bool = false) {
        self.text = text
        self.nullable = nullable
    }

    var spelled: String { nullable ? text + "?" : text }
}
