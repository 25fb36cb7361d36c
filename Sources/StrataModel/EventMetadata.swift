import Foundation
import Strata
import StrataJSON

/// Typed event metadata: who did it, why, and tags for conditional appends.
///
/// Stored as one flat JSON object: `actor`, `auditor`, `correlationId`, `causationId`, `tags`,
/// `eventVersion` (the payload's schema version, written only when above 1), and every custom
/// field under its own key. Unknown keys read back into ``custom``.
public struct EventMetadata: Sendable, Hashable, Codable {
    /// Who caused the event (a user or service id).
    public var actor: String?
    /// Who approved or audited it (valkyr's `auditor`).
    public var auditor: String?
    /// The id shared by everything one request caused.
    public var correlationId: String?
    /// The id of the message or event that caused this one.
    public var causationId: String?
    /// Tags, matched by conditional appends (`EventQuery`).
    public var tags: [String]
    /// Any other fields.
    public var custom: [String: JSONValue]
    /// The payload's schema version (1 unless an event type declares a later one).
    public internal(set) var eventVersion: Int

    /// Creates metadata.
    public init(actor: String? = nil, auditor: String? = nil, correlationId: String? = nil,
                causationId: String? = nil, tags: [String] = [], custom: [String: JSONValue] = [:]) {
        self.actor = actor
        self.auditor = auditor
        self.correlationId = correlationId
        self.causationId = causationId
        self.tags = tags
        self.custom = custom
        self.eventVersion = 1
    }

    /// Metadata for an event caused by `cause`: same correlation id (or the cause's id when it
    /// has none), and the cause's id as causation id.
    public static func causedBy<E>(_ cause: Envelope<E>, actor: String? = nil) -> EventMetadata {
        let parent = cause.metadata
        return EventMetadata(actor: actor ?? parent.actor, correlationId: parent.correlationId ?? cause.id.uuidString.lowercased(),
                             causationId: cause.id.uuidString.lowercased())
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let known: Set<String> = ["actor", "auditor", "correlationId", "causationId", "tags", "eventVersion"]

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        actor = try c.decodeIfPresent(String.self, forKey: Key("actor"))
        auditor = try c.decodeIfPresent(String.self, forKey: Key("auditor"))
        correlationId = try c.decodeIfPresent(String.self, forKey: Key("correlationId"))
        causationId = try c.decodeIfPresent(String.self, forKey: Key("causationId"))
        tags = try c.decodeIfPresent([String].self, forKey: Key("tags")) ?? []
        eventVersion = try c.decodeIfPresent(Int.self, forKey: Key("eventVersion")) ?? 1
        var custom: [String: JSONValue] = [:]
        for key in c.allKeys where !Self.known.contains(key.stringValue) {
            custom[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
        self.custom = custom
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (key, value) in custom where !Self.known.contains(key) { try c.encode(value, forKey: Key(key)) }
        try c.encodeIfPresent(actor, forKey: Key("actor"))
        try c.encodeIfPresent(auditor, forKey: Key("auditor"))
        try c.encodeIfPresent(correlationId, forKey: Key("correlationId"))
        try c.encodeIfPresent(causationId, forKey: Key("causationId"))
        if !tags.isEmpty { try c.encode(tags, forKey: Key("tags")) }
        if eventVersion != 1 { try c.encode(eventVersion, forKey: Key("eventVersion")) }
    }

    /// Whether there is nothing to store.
    var isEmpty: Bool {
        actor == nil && auditor == nil && correlationId == nil && causationId == nil && tags.isEmpty && custom.isEmpty && eventVersion == 1
    }
}
