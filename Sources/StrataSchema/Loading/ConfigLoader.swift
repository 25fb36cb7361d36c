import Foundation
import Strata
import StrataJSON

/// Reads event config files and `$definitions.json` files into schemas (docs/SCHEMAS.md, config
/// format version 1). Every error names the file; nothing is half-loaded.
struct ConfigLoader {
    /// The config format version this build reads.
    static let formatVersion = 1
    /// The file name of shared definitions.
    static let definitionsFileName = "$definitions.json"

    private(set) var events: [String: EventSchema] = [:]
    private(set) var definitions: [String: SchemaDefinition] = [:]
    /// Canonical (compact) JSON of every file, by file path.
    private(set) var sources: [String: String] = [:]
    /// Every `pattern`, compiled once.
    private(set) var patterns: [String: NSRegularExpression] = [:]
    /// Every `$ref` seen, to check once all definitions are known.
    private var references: [(name: String, file: String, path: String)] = []
    private var displayRoot: String?

    /// How errors name a file.
    private func display(_ path: String) -> String {
        guard let displayRoot else { return path }
        return displayRoot.hasSuffix("/") ? displayRoot + path : displayRoot + "/" + path
    }

    /// Loads files given as (path, bytes), in path order.
    /// - Parameters:
    ///   - files: (path, bytes); the path keys ``sources``.
    ///   - displayRoot: prefixed to paths in errors (the folder the paths are relative to).
    static func load(_ files: [(path: String, bytes: Data)], displayRoot: String? = nil) throws -> ConfigLoader {
        var loader = ConfigLoader()
        loader.displayRoot = displayRoot
        let ordered = files.sorted { $0.path < $1.path }
        // Definitions first, so that errors about events can already name them.
        for file in ordered where isDefinitionsFile(file.path) { try loader.loadDefinitions(file.path, file.bytes) }
        for file in ordered where !isDefinitionsFile(file.path) { try loader.loadEvent(file.path, file.bytes) }
        try loader.checkReferences()
        try loader.checkRecursion()
        return loader
    }

    /// Whether a path names a `$definitions.json` file.
    static func isDefinitionsFile(_ path: String) -> Bool {
        (path.split(separator: "/").last.map(String.init) ?? path) == definitionsFileName
    }

    // MARK: - Files

    private func parse(_ file: String, _ bytes: Data) throws -> [JSONMember] {
        let root: JSONValue
        do {
            root = try JSONValue(parsing: bytes)
        } catch let error as StrataJSONSyntaxError {
            throw EventSchemaError.malformedJSON(file: file, line: error.line, column: error.column, reason: error.reason)
        }
        guard case .object(let members) = root else {
            throw EventSchemaError.invalidSchema(file: file, path: "", reason: "the file must hold a JSON object, not \(root.kindName)")
        }
        return members
    }

    private mutating func loadDefinitions(_ key: String, _ bytes: Data) throws {
        let file = display(key)
        let members = try parse(file, bytes)
        sources[key] = JSONValue.object(members).jsonText
        var seen = Set<String>()
        for member in members {
            if !seen.insert(member.key).inserted {
                throw EventSchemaError.duplicateDefinition(name: member.key, file: file, firstFile: file)
            }
            if let first = definitions[member.key] {
                throw EventSchemaError.duplicateDefinition(name: member.key, file: file, firstFile: first.file)
            }
            guard !member.key.isEmpty else {
                throw EventSchemaError.invalidSchema(file: file, path: "/", reason: "a definition name must not be empty")
            }
            var context = Context(file: file, path: "/" + pointerEscape(member.key))
            let schema = try self.schema(member.value, &context, inProperty: false)
            definitions[member.key] = SchemaDefinition(name: member.key, schema: schema, file: file)
        }
    }

    private mutating func loadEvent(_ key: String, _ bytes: Data) throws {
        let file = display(key)
        let root = try parse(file, bytes)
        sources[key] = JSONValue.object(root).jsonText
        var fields = try keywords(root, Context(file: file, path: ""))
        var base = ""
        if let wrapped = fields.removeValue(forKey: "event") {
            try checkVersion(fields.removeValue(forKey: "version"), Context(file: file, path: "/version"))
            fields.removeValue(forKey: "$comment")
            if let extra = fields.keys.sorted().first {
                throw EventSchemaError.invalidSchema(file: file, path: "/" + pointerEscape(extra),
                                                     reason: "unknown key next to \"event\" (allowed: event, version, $comment)")
            }
            guard case .object(let inner) = wrapped else {
                throw EventSchemaError.invalidSchema(file: file, path: "/event", reason: "\"event\" must be an object")
            }
            base = "/event"
            fields = try keywords(inner, Context(file: file, path: base))
            if fields["version"] != nil {
                throw EventSchemaError.invalidSchema(file: file, path: "/event/version", reason: "put \"version\" next to \"event\", not inside it")
            }
        } else {
            try checkVersion(fields.removeValue(forKey: "version"), Context(file: file, path: "/version"))
        }
        guard let typeValue = fields.removeValue(forKey: "type") else { throw EventSchemaError.missingType(file: file) }
        guard case .string(let type) = typeValue else {
            throw EventSchemaError.invalidSchema(file: file, path: base + "/type", reason: "\"type\" must be a string, not \(typeValue.kindName)")
        }
        do {
            try Naming.validateEventType(type)
        } catch let error as StrataError {
            throw EventSchemaError.invalidSchema(file: file, path: base + "/type", reason: error.description)
        }
        if let first = events[type] {
            throw EventSchemaError.duplicateType(type: type, file: file, firstFile: first.file)
        }
        var description: String?
        if let value = fields.removeValue(forKey: "description") {
            description = try string(value, Context(file: file, path: base + "/description"))
        }
        fields.removeValue(forKey: "$comment")
        let dataValue = fields.removeValue(forKey: "data")
        let metaValue = fields.removeValue(forKey: "meta")
        if let extra = fields.keys.sorted().first {
            throw EventSchemaError.invalidSchema(file: file, path: base + "/" + pointerEscape(extra),
                                                 reason: "unknown key in an event config (allowed: type, data, meta, description, $comment\(base.isEmpty ? ", version" : ""))")
        }
        var dataContext = Context(file: file, path: base + "/data")
        let data = try dataValue.map { try propertyMap($0, &dataContext) } ?? ObjectRules(properties: [])
        var metaContext = Context(file: file, path: base + "/meta")
        let meta = try metaValue.map { try propertyMap($0, &metaContext) }
        events[type] = EventSchema(type: type, description: description, data: data, meta: meta, file: file)
    }

    private func checkVersion(_ value: JSONValue?, _ context: Context) throws {
        guard let value else { return }
        guard case .integer(let version) = value, version == Int64(ConfigLoader.formatVersion) else {
            throw context.error("unsupported config format version \(value.jsonText); this build reads version \(ConfigLoader.formatVersion)")
        }
    }

    // MARK: - Schemas

    /// Where in which file a schema is being read.
    struct Context {
        let file: String
        var path: String

        func error(_ reason: String) -> EventSchemaError {
            .invalidSchema(file: file, path: path, reason: reason)
        }

        func child(_ key: String) -> Context {
            Context(file: file, path: path + "/" + pointerEscape(key))
        }
    }

    /// An object's members as a dictionary; a key written twice is an error.
    private func keywords(_ members: [JSONMember], _ context: Context) throws -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for member in members {
            if result.updateValue(member.value, forKey: member.key) != nil {
                throw context.child(member.key).error("\"\(member.key)\" is written twice")
            }
        }
        return result
    }

    /// `data` and `meta`: a map from property name to schema, read as an object that allows no
    /// other members.
    private mutating func propertyMap(_ value: JSONValue, _ context: inout Context) throws -> ObjectRules {
        guard case .object(let members) = value else {
            throw context.error("must be an object mapping property names to schemas, not \(value.kindName)")
        }
        return ObjectRules(properties: try properties(members, context), additional: .forbidden)
    }

    private mutating func properties(_ members: [JSONMember], _ context: Context) throws -> [Property] {
        var seen = Set<String>()
        var result: [Property] = []
        for member in members {
            var child = context.child(member.key)
            if !seen.insert(member.key).inserted { throw child.error("property \"\(member.key)\" is declared twice") }
            var optional = false
            var schemaValue = member.value
            if case .object(var fields) = member.value, let index = fields.firstIndex(where: { $0.key == "optional" }) {
                guard case .bool(let flag) = fields[index].value else {
                    throw child.child("optional").error("\"optional\" must be true or false")
                }
                optional = flag
                fields.remove(at: index)
                schemaValue = .object(fields)
            }
            result.append(Property(name: member.key, schema: try schema(schemaValue, &child, inProperty: true), optional: optional))
        }
        return result
    }

    private static let typeNames = ["string", "number", "integer", "boolean", "object", "array", "null"]
    private static let annotations: Set<String> = ["description", "title", "$comment"]
    private static let stringKeywords: Set<String> = ["minLength", "maxLength", "pattern", "format"]
    private static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
    private static let objectKeywords: Set<String> = ["properties", "additionalProperties"]
    private static let arrayKeywords: Set<String> = ["items", "minItems", "maxItems"]

    private mutating func schema(_ value: JSONValue, _ context: inout Context, inProperty: Bool) throws -> Schema {
        guard case .object(let members) = value else {
            throw context.error("a schema must be an object such as {\"type\": \"string\"}, not \(value.kindName)")
        }
        var fields = try keywords(members, context)
        if fields["optional"] != nil {
            throw context.child("optional").error("\"optional\" only applies to a property of \"data\", \"meta\" or \"properties\"")
        }
        var description: String?
        if let d = fields.removeValue(forKey: "description") { description = try string(d, context.child("description")) }
        if let t = fields.removeValue(forKey: "title"), description == nil { description = try string(t, context.child("title")) }
        fields.removeValue(forKey: "$comment")

        if let ref = fields.removeValue(forKey: "$ref") {
            try onlyAnnotations(fields, context, with: "$ref")
            let name = try referenceName(ref, context.child("$ref"))
            references.append((name, context.file, context.path + "/$ref"))
            return Schema(.ref(name), description: description)
        }
        if let anyOf = fields.removeValue(forKey: "anyOf") {
            try onlyAnnotations(fields, context, with: "anyOf")
            guard case .array(let alternatives) = anyOf, !alternatives.isEmpty else {
                throw context.child("anyOf").error("\"anyOf\" must be a non-empty array of schemas")
            }
            var schemas: [Schema] = []
            for (i, alternative) in alternatives.enumerated() {
                var child = context.child("anyOf").child(String(i))
                schemas.append(try schema(alternative, &child, inProperty: false))
            }
            return Schema(.anyOf(schemas), description: description)
        }

        let enumValues = fields.removeValue(forKey: "enum")
        var typeName: String
        if let t = fields.removeValue(forKey: "type") {
            guard case .string(let name) = t else {
                throw context.child("type").error("\"type\" must be one type name (use anyOf for alternatives), not \(t.kindName)")
            }
            guard ConfigLoader.typeNames.contains(name) else {
                throw context.child("type").error("unknown type \"\(name)\" (known: \(ConfigLoader.typeNames.joined(separator: ", ")))")
            }
            typeName = name
        } else if let enumValues {
            typeName = try inferredEnumType(enumValues, context.child("enum"))
        } else {
            try onlyAnnotations(fields, context, with: nil)
            return Schema(.any, description: description)
        }

        let allowed: Set<String>
        switch typeName {
        case "string": allowed = ConfigLoader.stringKeywords
        case "number", "integer": allowed = ConfigLoader.numberKeywords
        case "object": allowed = ConfigLoader.objectKeywords
        case "array": allowed = ConfigLoader.arrayKeywords
        default: allowed = []
        }
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw context.child(extra).error(unknownKeywordReason(extra, typeName: typeName))
        }
        if enumValues != nil && !["string", "number", "integer"].contains(typeName) {
            throw context.child("enum").error("\"enum\" applies to string, number and integer types, not \(typeName)")
        }

        switch typeName {
        case "string":
            var rules = StringRules()
            if let values = enumValues { rules.allowed = try stringEnum(values, context.child("enum")) }
            rules.minLength = try count(fields["minLength"], context.child("minLength"))
            rules.maxLength = try count(fields["maxLength"], context.child("maxLength"))
            if let p = fields["pattern"] {
                let pattern = try string(p, context.child("pattern"))
                do {
                    patterns[pattern] = try NSRegularExpression(pattern: pattern)
                } catch {
                    throw context.child("pattern").error("not a valid regular expression: \(pattern)")
                }
                rules.pattern = pattern
            }
            if let f = fields["format"] {
                let name = try string(f, context.child("format"))
                guard let format = StringFormat(rawValue: name) else {
                    throw context.child("format").error("unknown format \"\(name)\" (known: \(StringFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                rules.format = format
            }
            return Schema(.string(rules), description: description)
        case "number", "integer":
            var rules = NumberRules()
            if let values = enumValues { rules.allowed = try numberEnum(values, integer: typeName == "integer", context.child("enum")) }
            rules.minimum = try number(fields["minimum"], context.child("minimum"))
            rules.maximum = try number(fields["maximum"], context.child("maximum"))
            rules.exclusiveMinimum = try number(fields["exclusiveMinimum"], context.child("exclusiveMinimum"))
            rules.exclusiveMaximum = try number(fields["exclusiveMaximum"], context.child("exclusiveMaximum"))
            return Schema(typeName == "integer" ? .integer(rules) : .number(rules), description: description)
        case "boolean":
            return Schema(.boolean, description: description)
        case "null":
            return Schema(.null, description: description)
        case "object":
            var properties: [Property] = []
            if let p = fields["properties"] {
                guard case .object(let members) = p else {
                    throw context.child("properties").error("\"properties\" must be an object mapping names to schemas")
                }
                properties = try self.properties(members, context.child("properties"))
            }
            var additional = AdditionalProperties.forbidden
            switch fields["additionalProperties"] {
            case nil, .bool(false)?: additional = .forbidden
            case .bool(true)?: additional = .allowed
            case .object(let members)?:
                var child = context.child("additionalProperties")
                additional = .schema(try schema(.object(members), &child, inProperty: false))
            case let other?:
                throw context.child("additionalProperties").error("\"additionalProperties\" must be true, false or a schema, not \(other.kindName)")
            }
            return Schema(.object(ObjectRules(properties: properties, additional: additional)), description: description)
        default: // array
            var items: Schema?
            if let i = fields["items"] {
                var child = context.child("items")
                guard case .object = i else { throw child.error("\"items\" must be one schema (tuples are not supported)") }
                items = try schema(i, &child, inProperty: false)
            }
            let rules = ArrayRules(items: items, minItems: try count(fields["minItems"], context.child("minItems")),
                                   maxItems: try count(fields["maxItems"], context.child("maxItems")))
            return Schema(.array(rules), description: description)
        }
    }

    private func unknownKeywordReason(_ keyword: String, typeName: String) -> String {
        if keyword == "required" { return "\"required\" is not used: every property is required unless it says \"optional\": true" }
        if keyword == "optional" { return "\"optional\" only applies to a property" }
        for (set, kind) in [(ConfigLoader.stringKeywords, "string"), (ConfigLoader.numberKeywords, "number and integer"),
                            (ConfigLoader.objectKeywords, "object"), (ConfigLoader.arrayKeywords, "array")] where set.contains(keyword) {
            return "\"\(keyword)\" applies to \(kind) types, not \(typeName)"
        }
        if ["$ref", "anyOf"].contains(keyword) { return "\"\(keyword)\" cannot be combined with \"type\"" }
        return "unknown keyword \"\(keyword)\" (docs/SCHEMAS.md lists the supported keywords)"
    }

    private func onlyAnnotations(_ fields: [String: JSONValue], _ context: Context, with keyword: String?) throws {
        guard let extra = fields.keys.sorted().first else { return }
        if let keyword {
            throw context.child(extra).error("\"\(keyword)\" cannot be combined with \"\(extra)\" (only description, title, $comment and optional)")
        }
        throw context.child(extra).error(ConfigLoader.stringKeywords.union(ConfigLoader.numberKeywords).union(ConfigLoader.objectKeywords)
            .union(ConfigLoader.arrayKeywords).contains(extra)
            ? "\"\(extra)\" needs a \"type\"" : unknownKeywordReason(extra, typeName: "a schema without type"))
    }

    /// The definition name of a `$ref`: `#/definitions/NAME`, `#/$defs/NAME` or `$definitions.json#/NAME`.
    private func referenceName(_ value: JSONValue, _ context: Context) throws -> String {
        guard case .string(let ref) = value else { throw context.error("\"$ref\" must be a string") }
        for prefix in ["#/definitions/", "#/$defs/", "$definitions.json#/"] where ref.hasPrefix(prefix) {
            let rest = ref.dropFirst(prefix.count)
            if !rest.isEmpty && !rest.contains("/") {
                return rest.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
        }
        throw context.error("unsupported $ref \"\(ref)\": use \"#/definitions/NAME\", \"#/$defs/NAME\" or \"$definitions.json#/NAME\"")
    }

    private func inferredEnumType(_ values: JSONValue, _ context: Context) throws -> String {
        guard case .array(let elements) = values, !elements.isEmpty else { throw context.error("\"enum\" must be a non-empty array") }
        if elements.allSatisfy({ $0.stringValue != nil }) { return "string" }
        if elements.allSatisfy({ $0.kindName == "integer" }) { return "integer" }
        if elements.allSatisfy({ $0.numberValue != nil }) { return "number" }
        throw context.error("\"enum\" without \"type\" must list only strings or only numbers")
    }

    private func stringEnum(_ values: JSONValue, _ context: Context) throws -> [String] {
        guard case .array(let elements) = values, !elements.isEmpty else { throw context.error("\"enum\" must be a non-empty array") }
        var result: [String] = []
        for (i, element) in elements.enumerated() {
            guard case .string(let s) = element else { throw context.child(String(i)).error("an enum of type string lists strings only") }
            if result.contains(s) { throw context.child(String(i)).error("\"\(s)\" is listed twice") }
            result.append(s)
        }
        return result
    }

    private func numberEnum(_ values: JSONValue, integer: Bool, _ context: Context) throws -> [Double] {
        guard case .array(let elements) = values, !elements.isEmpty else { throw context.error("\"enum\" must be a non-empty array") }
        var result: [Double] = []
        for (i, element) in elements.enumerated() {
            guard let d = element.numberValue, !integer || JSONValue.isIntegral(d) else {
                throw context.child(String(i)).error("an enum of type \(integer ? "integer" : "number") lists \(integer ? "integers" : "numbers") only")
            }
            if result.contains(d) { throw context.child(String(i)).error("\(element.jsonText) is listed twice") }
            result.append(d)
        }
        return result
    }

    private func string(_ value: JSONValue, _ context: Context) throws -> String {
        guard case .string(let s) = value else { throw context.error("must be a string, not \(value.kindName)") }
        return s
    }

    private func count(_ value: JSONValue?, _ context: Context) throws -> Int? {
        guard let value else { return nil }
        guard case .integer(let i) = value, i >= 0, i <= Int64(Int32.max) else {
            throw context.error("must be a non-negative integer")
        }
        return Int(i)
    }

    private func number(_ value: JSONValue?, _ context: Context) throws -> Double? {
        guard let value else { return nil }
        guard let d = value.numberValue else { throw context.error("must be a number, not \(value.kindName)") }
        return d
    }

    // MARK: - Whole-set checks

    private func checkReferences() throws {
        for reference in references where definitions[reference.name] == nil {
            let known = definitions.keys.sorted()
            throw EventSchemaError.invalidSchema(
                file: reference.file, path: reference.path,
                reason: "no definition named \"\(reference.name)\"" + (known.isEmpty ? " (there is no $definitions.json)" : " (defined: \(known.joined(separator: ", ")))"))
        }
    }

    /// A definition may refer to itself only through an array or a map (`additionalProperties`):
    /// a value that contains itself directly could never be written, and generated structs
    /// could not hold it.
    private func checkRecursion() throws {
        for name in definitions.keys.sorted() {
            var visiting: [String] = []
            if let cycle = directCycle(from: name, visiting: &visiting, target: name) {
                let definition = definitions[name]!
                throw EventSchemaError.invalidSchema(
                    file: definition.file, path: "/" + pointerEscape(name),
                    reason: "definition \"\(name)\" contains itself (\(([name] + cycle).joined(separator: " → "))); recursion must go through an array or additionalProperties")
            }
        }
    }

    private func directCycle(from name: String, visiting: inout [String], target: String) -> [String]? {
        guard let definition = definitions[name], !visiting.contains(name) else { return nil }
        visiting.append(name)
        defer { visiting.removeLast() }
        for next in directReferences(definition.schema) {
            if next == target { return [next] }
            if let path = directCycle(from: next, visiting: &visiting, target: target) { return [next] + path }
        }
        return nil
    }

    private func directReferences(_ schema: Schema) -> [String] {
        switch schema.kind {
        case .ref(let name): [name]
        case .object(let rules): rules.properties.flatMap { directReferences($0.schema) }
        case .anyOf(let alternatives): alternatives.flatMap(directReferences)
        default: []
        }
    }
}

/// Escapes a key for a JSON Pointer (RFC 6901).
func pointerEscape(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
}
