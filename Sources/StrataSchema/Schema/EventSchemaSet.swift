import Foundation
import Strata
import StrataJSON

/// The schemas of every event type of an application, loaded from a folder of event configs
/// (docs/SCHEMAS.md), and the validator of event data and metadata against them.
///
/// ```swift
/// let schemas = try EventSchemaSet(folder: URL(fileURLWithPath: "events"))
/// let violations = schemas.validate(type: "user:created", data: Data(#"{"name":{"given":"Ada"}}"#.utf8), meta: nil)
/// // [$.data.name.family: required property is missing, $.data.email: required property is missing]
/// ```
public struct EventSchemaSet: Sendable {
    /// Every event schema, by type.
    public let events: [String: EventSchema]
    /// Every shared definition, by name.
    public let definitions: [String: SchemaDefinition]
    /// The canonical (compact) JSON text of every loaded file, by path: the schema table that
    /// generated code embeds and gives back to ``init(files:)``.
    public let sources: [String: String]
    let patterns: [String: NSRegularExpression]

    /// Loads every `*.json` file in `folder` and its subfolders: one event config per file, and
    /// `$definitions.json` files with shared definitions. Hidden files and folders are skipped.
    /// Errors name files by `folder` as given (relative or absolute) joined with their path inside it.
    ///
    /// - Throws: ``EventSchemaError`` naming the file at fault; ``EventSchemaError/noEvents(folder:)``
    ///   when the folder holds no event config.
    public init(folder: URL) throws {
        let files = try ConfigFolder.read(folder)
        let loader = try ConfigLoader.load(files.map { ($0.relativePath, $0.bytes) }, displayRoot: folder.relativePath)
        if loader.events.isEmpty { throw EventSchemaError.noEvents(folder: folder.relativePath) }
        self.init(loader)
    }

    /// Loads configs given as file path → JSON text, for example the `schemaFiles` table of
    /// generated code: `try EventSchemaSet(files: Event.schemaFiles)`.
    /// - Throws: ``EventSchemaError`` naming the file at fault.
    public init(files: [String: String]) throws {
        self.init(try ConfigLoader.load(files.map { ($0.key, Data($0.value.utf8)) }))
    }

    private init(_ loader: ConfigLoader) {
        events = loader.events
        definitions = loader.definitions
        sources = loader.sources
        patterns = loader.patterns
    }

    /// The event types, sorted.
    public var eventTypes: [String] { events.keys.sorted() }

    /// Every way an event's data and metadata break its type's schema, in document order; empty
    /// when the event is valid. An unknown type gives one violation at `$.type`.
    ///
    /// - Parameters:
    ///   - data: the event's data, JSON bytes that must hold an object.
    ///   - meta: the event's metadata; `nil` or empty counts as `{}`. Metadata is only checked
    ///     when the config declares `meta`.
    public func validate(type: String, data: Data, meta: Data?) -> [SchemaViolation] {
        guard let schema = events[type] else {
            return [SchemaViolation(path: "$.type", message: "unknown event type \"\(type)\"; no config declares it")]
        }
        var validator = SchemaValidator(definitions: definitions, patterns: patterns)
        validator.check(bytes: data, against: schema.data, root: "data")
        if let metaSchema = schema.meta {
            if let meta, !meta.isEmpty {
                validator.check(bytes: meta, against: metaSchema, root: "meta")
            } else {
                validator.check(.object([]), against: metaSchema, root: "meta")
            }
        }
        return validator.violations
    }

    /// Validates parsed values (for callers that already hold them).
    public func validate(type: String, data: JSONValue, meta: JSONValue?) -> [SchemaViolation] {
        guard let schema = events[type] else {
            return [SchemaViolation(path: "$.type", message: "unknown event type \"\(type)\"; no config declares it")]
        }
        var validator = SchemaValidator(definitions: definitions, patterns: patterns)
        validator.check(data, against: schema.data, root: "data")
        if let metaSchema = schema.meta { validator.check(meta ?? .object([]), against: metaSchema, root: "meta") }
        return validator.violations
    }

    /// Checks one event to append: its type must have a schema, its content type must be JSON,
    /// and its data and metadata must match.
    /// - Throws: ``StrataError/invalidEventType(_:reason:)`` for a type without a schema,
    ///   ``StrataError/schemaViolation(id:type:violations:)`` listing every violation.
    public func check(_ event: EventData) throws {
        guard events[event.type] != nil else {
            throw StrataError.invalidEventType(event.type, reason: "no event schema declares this type")
        }
        var violations: [SchemaViolation] = []
        if !event.contentType.isJSON {
            violations.append(SchemaViolation(path: "$.data", message: "content type is \(event.contentType); events with a schema must be \(ContentType.json)"))
        } else {
            violations = validate(type: event.type, data: event.data, meta: event.metadata)
        }
        if !violations.isEmpty {
            throw StrataError.schemaViolation(id: event.id.uuidString, type: event.type, violations: violations.map(\.description))
        }
    }

    /// Checks every event of an append, request by request; throws for the first bad event.
    public func check(_ requests: [AppendRequest]) throws {
        for request in requests {
            for event in request.events { try check(event) }
        }
    }
}
