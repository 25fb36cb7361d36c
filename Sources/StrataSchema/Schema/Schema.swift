/// One JSON Schema, as an event config writes it for a property, an array's items, an `anyOf`
/// alternative or a shared definition. docs/SCHEMAS.md lists the keywords.
public struct Schema: Sendable, Equatable {
    /// What values the schema accepts.
    public var kind: Kind
    /// The `description` keyword: documentation, copied into generated code.
    public var description: String?

    /// Creates a schema.
    public init(_ kind: Kind, description: String? = nil) {
        self.kind = kind
        self.description = description
    }

    /// The accepted values, by JSON kind.
    public indirect enum Kind: Sendable, Equatable {
        /// Any JSON value (a schema with no `type`, `enum`, `anyOf` or `$ref`).
        case any
        /// A string, with optional rules.
        case string(StringRules)
        /// A whole number (JSON Schema counts `2.0` as one).
        case integer(NumberRules)
        /// Any number.
        case number(NumberRules)
        /// `true` or `false`.
        case boolean
        /// `null`.
        case null
        /// An object.
        case object(ObjectRules)
        /// An array.
        case array(ArrayRules)
        /// A value accepted by at least one of the alternatives.
        case anyOf([Schema])
        /// The shared definition with this name.
        case ref(String)
    }
}

/// The rules of a string schema.
public struct StringRules: Sendable, Equatable {
    /// `enum`: the only accepted values, in config order.
    public var allowed: [String]?
    /// `minLength`, in Unicode scalars.
    public var minLength: Int?
    /// `maxLength`, in Unicode scalars.
    public var maxLength: Int?
    /// `pattern`: a regular expression the string must contain a match of.
    public var pattern: String?
    /// `format`.
    public var format: StringFormat?

    /// Creates string rules.
    public init(allowed: [String]? = nil, minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: StringFormat? = nil) {
        self.allowed = allowed
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.format = format
    }
}

/// The `format` values Strata checks.
public enum StringFormat: String, Sendable, Equatable, CaseIterable {
    /// RFC 3339 date and time with an offset: `2025-04-25T22:47:07Z`, `2025-04-25T22:47:07.5+02:00`.
    case dateTime = "date-time"
    /// RFC 3339 full date: `2025-04-25`.
    case date
    /// A UUID in 8-4-4-4-12 hexadecimal form, either case.
    case uuid
    /// `local@domain`: one `@`, no spaces, a domain of dot-separated letters, digits and hyphens.
    case email
}

/// The rules of a number or integer schema.
public struct NumberRules: Sendable, Equatable {
    /// `enum`: the only accepted values.
    public var allowed: [Double]?
    /// `minimum`, inclusive.
    public var minimum: Double?
    /// `maximum`, inclusive.
    public var maximum: Double?
    /// `exclusiveMinimum` (a number, as in JSON Schema 2019-09 and later).
    public var exclusiveMinimum: Double?
    /// `exclusiveMaximum` (a number).
    public var exclusiveMaximum: Double?

    /// Creates number rules.
    public init(allowed: [Double]? = nil, minimum: Double? = nil, maximum: Double? = nil,
                exclusiveMinimum: Double? = nil, exclusiveMaximum: Double? = nil) {
        self.allowed = allowed
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
        self.exclusiveMaximum = exclusiveMaximum
    }
}

/// The rules of an object schema.
public struct ObjectRules: Sendable, Equatable {
    /// The declared properties, in config order.
    public let properties: [Property]
    /// What happens to members not declared in ``properties``.
    public let additional: AdditionalProperties
    /// Property index by name.
    let index: [String: Int]

    /// Creates object rules. Property names must be unique.
    public init(properties: [Property], additional: AdditionalProperties = .forbidden) {
        self.properties = properties
        self.additional = additional
        var index: [String: Int] = [:]
        for (i, property) in properties.enumerated() where index[property.name] == nil { index[property.name] = i }
        self.index = index
    }

    /// The index of the property named `key`. Small objects (the usual event) are scanned, which
    /// beats hashing the key.
    func position(of key: String) -> Int? {
        if properties.count <= 8 {
            for i in properties.indices where properties[i].name == key { return i }
            return nil
        }
        return index[key]
    }
}

/// One declared property of an object.
public struct Property: Sendable, Equatable {
    /// The member's key.
    public var name: String
    /// The value's schema.
    public var schema: Schema
    /// `optional: true`: the member may be absent. Every property is required otherwise.
    public var optional: Bool

    /// Creates a property.
    public init(name: String, schema: Schema, optional: Bool = false) {
        self.name = name
        self.schema = schema
        self.optional = optional
    }
}

/// `additionalProperties`: what an object does with members it does not declare.
public indirect enum AdditionalProperties: Sendable, Equatable {
    /// `false` or absent: undeclared members are violations.
    case forbidden
    /// `true`: undeclared members are accepted, whatever they hold.
    case allowed
    /// A schema: undeclared members are accepted when their value matches it.
    case schema(Schema)
}

/// The rules of an array schema.
public struct ArrayRules: Sendable, Equatable {
    /// `items`: the schema of every element; `nil` accepts any elements.
    public var items: Schema?
    /// `minItems`.
    public var minItems: Int?
    /// `maxItems`.
    public var maxItems: Int?

    /// Creates array rules.
    public init(items: Schema?, minItems: Int? = nil, maxItems: Int? = nil) {
        self.items = items
        self.minItems = minItems
        self.maxItems = maxItems
    }
}

/// The schema of one event type, loaded from one config file.
public struct EventSchema: Sendable, Equatable {
    /// The event type, for example `user:created`.
    public let type: String
    /// The config's `description`.
    public let description: String?
    /// The schema of the event's data: an object of the config's `data` properties.
    public let data: ObjectRules
    /// The schema of the event's metadata, or `nil` when the config has no `meta` (metadata is
    /// then not checked).
    public let meta: ObjectRules?
    /// The config file it was loaded from.
    public let file: String
}

/// One shared definition from a `$definitions.json` file.
public struct SchemaDefinition: Sendable, Equatable {
    /// The definition's name, the last part of a `$ref`.
    public let name: String
    /// Its schema.
    public let schema: Schema
    /// The `$definitions.json` file it was loaded from.
    public let file: String
}
