import Strata
import StrataJSON
/// Turns schemas into Swift declarations: names every type and member, nests object types
/// inside their owners, and records which helper types the code needs.
struct SwiftTypePlanner {
    let schemas: EventSchemaSet
    let options: CodegenOptions
    /// Definition name → Swift type name.
    private(set) var definitionNames: [String: String] = [:]
    /// Event type → Swift struct name.
    private(set) var eventNames: [String: String] = [:]
    /// Type names no nested type may take: they would hide a top-level or standard type.
    private var nestedReserved: Set<String> = []
    private(set) var usesJSONValue = false
    private(set) var usesJSONNull = false

    var namespace: String { options.enumName }

    init(schemas: EventSchemaSet, options: CodegenOptions) throws {
        self.schemas = schemas
        self.options = options
        var owners: [String: String] = [options.enumName: "the enum name option"]
        func claim(_ name: String, _ file: String) throws {
            if let other = owners[name] { throw EventSchemaError.nameCollision(name: name, file: file, otherFile: other) }
            owners[name] = file
        }
        for conformance in options.conformances { owners[conformance] = "the conformance option" }
        for name in schemas.definitions.keys.sorted() {
            let definition = schemas.definitions[name]!
            var typeName = SwiftNames.typeName(name)
            if SwiftNames.reservedTypes.contains(typeName) { typeName += "Definition" }
            try claim(typeName, definition.file + " (definition \"\(name)\")")
            definitionNames[name] = typeName
        }
        for type in schemas.eventTypes {
            let event = schemas.events[type]!
            var typeName = SwiftNames.typeName(type)
            if SwiftNames.reservedTypes.contains(typeName) { typeName += "Event" }
            try claim(typeName, event.file)
            eventNames[type] = typeName
        }
        nestedReserved = SwiftNames.reservedTypes.union(owners.keys)
    }

    // MARK: - Top level

    /// One declaration per definition, in name order (plus top-level helpers they need).
    mutating func definitionDecls() -> [SwiftDecl] {
        var decls: [SwiftDecl] = []
        var topScope = NameScope(reserved: nestedReserved)
        for name in schemas.definitions.keys.sorted() {
            let definition = schemas.definitions[name]!
            let typeName = definitionNames[name]!
            let (core, _) = unwrapNullable(definition.schema)
            let doc = definition.schema.description ?? core.description ?? "The `\(name)` definition."
            switch core.kind {
            case .object(let rules) where !isMap(rules):
                decls.append(.structure(structDecl(name: typeName, rules: rules, doc: doc, conformances: [], eventType: nil)))
            case .string(let rules) where rules.allowed != nil:
                decls.append(.stringEnum(StringEnumDecl(name: typeName, doc: doc, cases: enumCases(rules.allowed!))))
            case .anyOf(let alternatives):
                decls.append(.alternatives(alternativesDecl(name: typeName, alternatives: alternatives, about: "the `\(name)` definition",
                                                            doc: definition.schema.description ?? core.description)))
            default:
                var extra: [SwiftDecl] = []
                let target = resolve(core, suggested: typeName + "Value", about: "the `\(name)` definition", nested: &extra, scope: &topScope)
                decls.append(.alias(name: typeName, doc: doc, target: target.spelled))
                decls.append(contentsOf: extra)
            }
        }
        return decls
    }

    /// One struct per event, in type order.
    mutating func eventDecls() -> [StructDecl] {
        schemas.eventTypes.map { type in
            let event = schemas.events[type]!
            var decl = structDecl(name: eventNames[type]!, rules: event.data, doc: event.description ?? "The `\(type)` event.",
                                  conformances: options.conformances, eventType: type, extraReserved: ["Meta"])
            if let meta = event.meta {
                decl.nested.append(.structure(structDecl(name: "Meta", rules: meta, doc: "The metadata of a `\(type)` event.",
                                                         conformances: [], eventType: nil)))
            }
            return decl
        }
    }

    // MARK: - Declarations

    private mutating func structDecl(name: String, rules: ObjectRules, doc: String?, conformances: [String],
                                     eventType: String?, extraReserved: Set<String> = []) -> StructDecl {
        var decl = StructDecl(name: name, doc: doc, conformances: conformances, eventType: eventType)
        var types = NameScope(reserved: nestedReserved.union(extraReserved).union([name]))
        var members = NameScope()
        for property in rules.properties {
            let memberName = members.claim(usableMember(SwiftNames.memberName(property.name)))
            let type = resolve(property.schema, suggested: SwiftNames.typeName(property.name), about: "`\(property.name)`",
                               nested: &decl.nested, scope: &types)
            decl.fields.append(FieldDecl(key: property.name, name: memberName, type: type.text, optional: property.optional,
                                         nullable: type.nullable, doc: property.schema.description))
        }
        return decl
    }

    private mutating func alternativesDecl(name: String, alternatives: [Schema], about: String, doc: String?) -> AlternativesDecl {
        let fallback = "The alternatives (`anyOf`) of \(about); decoding tries them in the config's order."
        var decl = AlternativesDecl(name: name, doc: doc ?? fallback, cases: [])
        var types = NameScope(reserved: nestedReserved.union([name]))
        var members = NameScope()
        for alternative in alternatives {
            let base = caseName(alternative)
            let member = members.claim(usableMember(base))
            if case .null = alternative.kind {
                decl.cases.append((member, nil))
            } else {
                let type = resolve(alternative, suggested: SwiftNames.typeName(member), about: "an alternative of \(about)",
                                   nested: &decl.nested, scope: &types)
                decl.cases.append((member, type.spelled))
            }
        }
        return decl
    }

    private func caseName(_ schema: Schema) -> String {
        switch schema.kind {
        case .any: "value"
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .null: "null"
        case .object: "object"
        case .array: "array"
        case .anyOf: "alternatives"
        case .ref(let name): SwiftNames.memberName(definitionNames[name] ?? name)
        }
    }

    private func enumCases(_ values: [String]) -> [(name: String, raw: String)] {
        var members = NameScope()
        return values.map { (members.claim(usableMember(SwiftNames.memberName($0))), $0) }
    }

    private func usableMember(_ name: String) -> String {
        SwiftNames.unusableMembers.contains(name) ? name + "Value" : name
    }

    private func nestedName(_ suggested: String, _ scope: inout NameScope) -> String {
        scope.claim(nestedReserved.contains(suggested) ? suggested + "Value" : suggested)
    }

    /// An object without declared properties but with `additionalProperties` is a dictionary.
    private func isMap(_ rules: ObjectRules) -> Bool {
        rules.properties.isEmpty && rules.additional != .forbidden
    }

    /// `anyOf` of one schema and `null` is that schema, nullable.
    private func unwrapNullable(_ schema: Schema) -> (Schema, nullable: Bool) {
        guard case .anyOf(let alternatives) = schema.kind else { return (schema, false) }
        let others = alternatives.filter { if case .null = $0.kind { false } else { true } }
        if others.count == 1 && others.count < alternatives.count { return (others[0], true) }
        if others.count == 1 { return (others[0], false) }
        return (schema, false)
    }

    private func definitionIsNullable(_ name: String) -> Bool {
        guard let definition = schemas.definitions[name] else { return false }
        let (core, nullable) = unwrapNullable(definition.schema)
        if nullable { return true }
        if case .ref(let other) = core.kind { return definitionIsNullable(other) }
        return false
    }

    // MARK: - Types

    /// The Swift type of a schema; object, enum and alternative types are added to `nested`.
    /// - Parameter about: what the schema describes, for documentation (``the `lines` property``).
    private mutating func resolve(_ schema: Schema, suggested: String, about: String, nested: inout [SwiftDecl], scope: inout NameScope) -> TypeRef {
        switch schema.kind {
        case .any:
            usesJSONValue = true
            return TypeRef("\(namespace).JSONValue")
        case .string(let rules):
            guard let allowed = rules.allowed else { return TypeRef("String") }
            let name = nestedName(suggested, &scope)
            nested.append(.stringEnum(StringEnumDecl(name: name, doc: schema.description ?? "The values of \(about).", cases: enumCases(allowed))))
            return TypeRef(name)
        case .integer:
            return TypeRef("Int")
        case .number:
            return TypeRef("Double")
        case .boolean:
            return TypeRef("Bool")
        case .null:
            usesJSONNull = true
            return TypeRef("\(namespace).JSONNull")
        case .object(let rules):
            if isMap(rules) {
                switch rules.additional {
                case .schema(let values):
                    let value = resolve(values, suggested: suggested + "Value", about: "a value of \(about)", nested: &nested, scope: &scope)
                    return TypeRef("[String: \(value.spelled)]")
                default:
                    usesJSONValue = true
                    return TypeRef("[String: \(namespace).JSONValue]")
                }
            }
            let name = nestedName(suggested, &scope)
            nested.append(.structure(structDecl(name: name, rules: rules, doc: schema.description ?? "The object of \(about).",
                                                conformances: [], eventType: nil)))
            return TypeRef(name)
        case .array(let rules):
            guard let items = rules.items else {
                usesJSONValue = true
                return TypeRef("[\(namespace).JSONValue]")
            }
            let item = resolve(items, suggested: suggested + "Item", about: "an element of \(about)", nested: &nested, scope: &scope)
            return TypeRef("[\(item.spelled)]")
        case .anyOf(let alternatives):
            let (core, nullable) = unwrapNullable(schema)
            if core != schema {
                var type = resolve(core, suggested: suggested, about: about, nested: &nested, scope: &scope)
                type.nullable = type.nullable || nullable
                return type
            }
            if alternatives.allSatisfy({ if case .null = $0.kind { true } else { false } }) {
                usesJSONNull = true
                return TypeRef("\(namespace).JSONNull")
            }
            let name = nestedName(suggested, &scope)
            nested.append(.alternatives(alternativesDecl(name: name, alternatives: alternatives, about: about, doc: schema.description)))
            return TypeRef(name)
        case .ref(let name):
            return TypeRef(definitionNames[name]!, nullable: definitionIsNullable(name))
        }
    }
}
