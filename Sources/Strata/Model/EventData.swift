import Foundation
internal import StrataJSON

/// The media type of an event's data. Strata treats data as opaque bytes; the content type says
/// how readers should interpret them. JSON is the default.
public struct ContentType: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The media type string, for example `application/json`.
    public let rawValue: String

    /// Creates a content type from a media type string (at most 255 UTF-8 bytes).
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// Creates a content type from a string literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// `application/json`, the default.
    public static let json = ContentType("application/json")
    /// `application/octet-stream`, for arbitrary binary data.
    public static let binary = ContentType("application/octet-stream")

    public var description: String { rawValue }
    /// Whether the data is JSON.
    public var isJSON: Bool { rawValue == ContentType.json.rawValue }
}

/// An event to append: what happened, before the store gives it a place.
///
/// ```swift
/// let event = EventData(type: "order-placed", data: Data(#"{"total":42}"#.utf8))
/// ```
public struct EventData: Sendable, Hashable {
    /// The event's unique id, the idempotency key. Generated when not given.
    public var id: UUID
    /// The event type: non-empty, at most 255 UTF-8 bytes.
    public var type: String
    /// The event's payload, opaque bytes (JSON by default).
    public var data: Data
    /// How to interpret ``data``.
    public var contentType: ContentType
    /// Optional metadata: the bytes of a JSON object. Tags for conditional appends live under `"tags"`.
    public var metadata: Data?

    /// Creates an event from raw bytes.
    public init(id: UUID = EventID.random(), type: String, data: Data, contentType: ContentType = .json, metadata: Data? = nil) {
        self.id = id
        self.type = type
        self.data = data
        self.contentType = contentType
        self.metadata = metadata
    }

    /// Creates an event whose data is the UTF-8 bytes of a JSON text.
    public init(id: UUID = EventID.random(), type: String, json: String, metadata: String? = nil) {
        self.init(id: id, type: type, data: Data(json.utf8), contentType: .json, metadata: metadata.map { Data($0.utf8) })
    }

    /// Creates an event whose data is an `Encodable` value encoded as JSON.
    public init<Payload: Encodable>(id: UUID = EventID.random(), type: String, encoding payload: Payload, tags: [String] = []) throws {
        let data = try StrataJSONEncoder().encode(payload)
        self.init(id: id, type: type, data: data, contentType: .json, metadata: tags.isEmpty ? nil : EventData.metadata(tags: tags))
    }

    /// Metadata bytes `{"tags":[…]}` carrying the given tags (used by conditional appends).
    public static func metadata(tags: [String]) -> Data {
        // JSONEncoder escapes strings correctly; tags are short, so this is off the hot path.
        struct TagsOnly: Encodable { let tags: [String] }
        return (try? StrataJSONEncoder().encode(TagsOnly(tags: tags))) ?? Data("{}".utf8)
    }

    /// The number of bytes this event counts against the per-event size limit:
    /// type, content type, metadata and data.
    public var encodedSize: Int {
        type.utf8.count + contentType.rawValue.utf8.count + (metadata?.count ?? 0) + data.count
    }
}
