import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// One line of bulk `append` input:
/// `{"stream"?: "…", "type": "…", "data": JSON, "metadata"?: {…}, "id"?: "UUID"}`.
/// The keys `position`, `revision` and `recordedAt` are ignored, so that `read` output can be
/// appended elsewhere.
struct BulkEventLine {
    /// The stream, or nil to use the command's STREAM argument.
    let stream: String?
    /// The event.
    let event: EventData

    private static let known: Set<String> = ["stream", "type", "data", "metadata", "id", "position", "revision", "recordedAt"]

    /// Parses and validates one line against `limits`.
    init(_ line: [UInt8], limits: EventLimits) throws(InputProblem) {
        let fields = try JSONObjectFields(line)
        for field in fields.fields where !BulkEventLine.known.contains(field.name) {
            throw InputProblem("unknown key \"\(field.name)\" (expected stream, type, data, metadata, id)")
        }
        let stream = try fields.string("stream")
        guard let type = try fields.string("type") else { throw InputProblem("\"type\" is missing") }
        guard let data = fields.raw("data") else { throw InputProblem("\"data\" is missing") }
        guard String(validating: data, as: UTF8.self) != nil else { throw InputProblem("\"data\" is not valid UTF-8") }
        var metadata: Data?
        if let raw = fields.raw("metadata"), !raw.elementsEqual("null".utf8) {
            guard raw.first == UInt8(ascii: "{") else { throw InputProblem("\"metadata\" must be a JSON object or null") }
            guard String(validating: raw, as: UTF8.self) != nil else { throw InputProblem("\"metadata\" is not valid UTF-8") }
            metadata = Data(raw)
        }
        var id = UUID()
        if let text = try fields.string("id") {
            guard let parsed = UUID(uuidString: text) else { throw InputProblem("\"id\" is not a UUID: \"\(text)\"") }
            id = parsed
        }
        let event = EventData(id: id, type: type, data: Data(data), contentType: .json, metadata: metadata)
        do {
            if let stream { try Naming.validateStreamName(stream) }
            try AppendValidation.validate(event, limits: limits)
        } catch let error as StrataError {
            throw InputProblem(error.description)
        } catch {
            throw InputProblem("\(error)")
        }
        self.stream = stream
        self.event = event
    }
}
