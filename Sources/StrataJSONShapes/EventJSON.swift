import Foundation
import Strata
import StrataJSON

/// The JSON shape of a recorded event, shared by the CLI (`read`, `tail`), the server and the
/// client. Keys come in this order: `position`, `stream`, `revision`, `id`, `type`,
/// (`contentType`), `data`, `metadata`, `recordedAt` — see docs/CLI.md and docs/SERVER.md.
public enum EventJSON {
    /// How payloads are written.
    public enum Style: Sendable, Hashable {
        /// The CLI's line: `data` embedded as JSON when the content type is JSON and the bytes are
        /// valid JSON, else a base64 string; `metadata` embedded; no `contentType` key.
        case line
        /// The server's default: like ``line`` plus a `contentType` key.
        case api
        /// Byte-exact: `contentType` present, `data` and `metadata` always base64 strings (or
        /// `null` for absent metadata). What ``EventJSON/decodeExact(_:)`` reads back.
        case exact
    }

    /// The event as one JSON object (no line break).
    public static func encode(_ event: RecordedEvent, style: Style = .line) -> [UInt8] {
        var json = JSONWriter()
        write(event, style: style, into: &json)
        return json.bytes
    }

    /// Writes the event as a JSON object value into `json`.
    public static func write(_ event: RecordedEvent, style: Style, into json: inout JSONWriter) {
        json.beginObject()
        json.field("position", event.position)
        json.field("stream", event.stream)
        json.field("revision", event.revision)
        json.field("id", event.id.uuidString.lowercased())
        json.field("type", event.type)
        if style != .line { json.field("contentType", event.contentType.rawValue) }
        json.key("data")
        if style == .exact {
            json.string(event.data.base64EncodedString())
        } else {
            payload(event.data, isJSON: event.contentType.isJSON, into: &json)
        }
        json.key("metadata")
        if let metadata = event.metadata, style == .exact {
            json.string(metadata.base64EncodedString())
        } else if let metadata = event.metadata, !metadata.isEmpty {
            payload(metadata, isJSON: true, into: &json)
        } else {
            json.null()
        }
        json.field("recordedAt", UTCTime.iso8601(event.recordedAtMicroseconds))
        json.endObject()
    }

    /// Embeds JSON payloads as JSON and everything else as a base64 string.
    private static func payload(_ bytes: Data, isJSON: Bool, into json: inout JSONWriter) {
        if isJSON && JSONSyntax.isValid(bytes) {
            json.rawJSON(bytes)
        } else {
            json.string(bytes.base64EncodedString())
        }
    }

    /// An append result as one JSON object.
    public static func encode(_ result: AppendResult) -> [UInt8] {
        var json = JSONWriter()
        write(result, into: &json)
        return json.bytes
    }

    /// Writes an append result as a JSON object value into `json`.
    public static func write(_ result: AppendResult, into json: inout JSONWriter) {
        json.beginObject()
        json.field("stream", result.stream)
        json.field("firstRevision", result.firstRevision)
        json.field("lastRevision", result.lastRevision)
        json.field("firstPosition", result.firstPosition)
        json.field("lastPosition", result.lastPosition)
        json.endObject()
    }

    /// An event in the ``Style/exact`` style, as decoded by `JSONDecoder`.
    public struct Exact: Codable, Sendable {
        public var position: UInt64
        public var stream: String
        public var revision: UInt64
        public var id: String
        public var type: String
        public var contentType: String
        public var data: String
        public var metadata: String?
        public var recordedAt: String
    }

    /// Turns a decoded ``Exact`` event back into the recorded event.
    /// - Throws: ``StrataError/invalidArgument(_:)`` when a field does not parse.
    public static func decodeExact(_ e: Exact) throws -> RecordedEvent {
        guard let id = UUID(uuidString: e.id) else { throw StrataError.invalidArgument("event id \"\(e.id)\" is not a UUID") }
        guard let data = Data(base64Encoded: e.data) else { throw StrataError.invalidArgument("event data is not base64") }
        var metadata: Data?
        if let m = e.metadata {
            guard let bytes = Data(base64Encoded: m) else { throw StrataError.invalidArgument("event metadata is not base64") }
            metadata = bytes
        }
        guard let micros = UTCTime.parseISO8601(e.recordedAt) else {
            throw StrataError.invalidArgument("recordedAt \"\(e.recordedAt)\" is not an ISO 8601 UTC time")
        }
        return RecordedEvent(id: id, stream: e.stream, revision: e.revision, position: e.position, recordedAtMicroseconds: micros,
                             type: e.type, contentType: ContentType(e.contentType), data: data, metadata: metadata)
    }
}
