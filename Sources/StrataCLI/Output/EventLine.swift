import Foundation
import Strata

/// The one-line JSON shape of a recorded event that `read` and `tail` print, with keys in this
/// order: `position`, `stream`, `revision`, `id`, `type`, `data`, `metadata`, `recordedAt`.
enum EventLine {
    /// The event as one line of JSON (without the line break).
    static func encode(_ event: RecordedEvent) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("position", event.position)
        json.field("stream", event.stream)
        json.field("revision", event.revision)
        json.field("id", event.id.uuidString.lowercased())
        json.field("type", event.type)
        json.key("data")
        payload(event.data, isJSON: event.contentType.isJSON, into: &json)
        json.key("metadata")
        if let metadata = event.metadata, !metadata.isEmpty {
            payload(metadata, isJSON: true, into: &json)
        } else {
            json.null()
        }
        json.field("recordedAt", Timestamp.iso8601(microseconds: event.recordedAtMicroseconds))
        json.endObject()
        return json.bytes
    }

    /// Embeds JSON payloads as JSON and everything else as a base64 string.
    private static func payload(_ bytes: Data, isJSON: Bool, into json: inout JSONWriter) {
        if isJSON && JSONSyntax.isValid(bytes) {
            json.rawJSON(bytes)
        } else {
            json.string(bytes.base64EncodedString())
        }
    }

    /// An append result as one line of JSON.
    static func encode(_ result: AppendResult) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("stream", result.stream)
        json.field("firstRevision", result.firstRevision)
        json.field("lastRevision", result.lastRevision)
        json.field("firstPosition", result.firstPosition)
        json.field("lastPosition", result.lastPosition)
        json.endObject()
        return json.bytes
    }
}
