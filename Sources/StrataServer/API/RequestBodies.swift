import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// Parses the JSON bodies of appends, multi-stream appends, metadata and ingest. Payloads are
/// kept as the raw bytes of the request (never parsed into objects and re-serialized), so what
/// is stored is byte for byte what was sent.
enum RequestBodies {
    /// Splits a body that must be one JSON object; malformed JSON gets its reason.
    static func object(_ bytes: [UInt8]) throws(APIError) -> JSONObjectFields {
        guard !bytes.isEmpty else { throw APIError.malformed("the body is empty") }
        do {
            return try JSONObjectFields(bytes)
        } catch {
            throw APIError.malformed(error.description)
        }
    }

    static func check(_ fields: JSONObjectFields, allowed: Set<String>, in what: String) throws(APIError) {
        for field in fields.fields where !allowed.contains(field.name) {
            let expected = allowed.isEmpty ? "an empty object" : allowed.sorted().joined(separator: ", ")
            throw APIError.malformed("unknown key \"\(field.name)\" in \(what) (expected \(expected))")
        }
    }

    static func string(_ fields: JSONObjectFields, _ name: String, in what: String) throws(APIError) -> String? {
        do { return try fields.string(name) } catch { throw APIError.malformed("\(error.description) in \(what)") }
    }

    static func array(_ fields: JSONObjectFields, _ name: String, in what: String) throws(APIError) -> [ArraySlice<UInt8>]? {
        guard let raw = fields.raw(name) else { return nil }
        do { return try JSONObjectFields.arrayElements(raw) } catch { throw APIError.malformed("\"\(name)\" must be an array in \(what)") }
    }

    static func nested(_ raw: ArraySlice<UInt8>, in what: String) throws(APIError) -> JSONObjectFields {
        guard raw.first == UInt8(ascii: "{") else { throw APIError.malformed("\(what) must be a JSON object") }
        do { return try JSONObjectFields(Array(raw)) } catch { throw APIError.malformed("\(error.description) in \(what)") }
    }

    /// `expectedRevision`: absent (any), a string (`any`, `no-stream`, `stream-exists`, digits) or a number.
    static func expectedRevision(_ fields: JSONObjectFields, in what: String) throws(APIError) -> ExpectedRevision {
        guard let raw = fields.raw("expectedRevision") else { return .any }
        let text: String
        if raw.first == UInt8(ascii: "\"") {
            text = try string(fields, "expectedRevision", in: what) ?? ""
        } else {
            text = String(decoding: raw, as: UTF8.self)
        }
        guard let expected = ExpectedRevision(parsing: text) else {
            throw APIError.badParameter("expectedRevision must be any, no-stream, stream-exists or a revision, not \(text)")
        }
        return expected
    }

    /// `encoding`: `json` (default) or `base64`.
    static func isBase64(_ fields: JSONObjectFields, in what: String) throws(APIError) -> Bool {
        switch try string(fields, "encoding", in: what) {
        case nil, "json": return false
        case "base64": return true
        case let other?: throw APIError.badParameter("encoding must be json or base64, not \"\(other)\"")
        }
    }

    private static let eventKeys: Set<String> = ["id", "type", "contentType", "data", "metadata"]

    /// One event of an append body.
    static func event(_ raw: ArraySlice<UInt8>, index: Int, base64: Bool) throws(APIError) -> EventData {
        let what = "events[\(index)]"
        let fields = try nested(raw, in: what)
        try check(fields, allowed: eventKeys, in: what)
        guard let type = try string(fields, "type", in: what) else { throw APIError.malformed("\"type\" is missing in \(what)") }
        let contentType = try string(fields, "contentType", in: what).map { ContentType($0) } ?? .json
        guard let dataRaw = fields.raw("data") else { throw APIError.malformed("\"data\" is missing in \(what)") }
        let data: Data
        if base64 || !contentType.isJSON {
            data = try decodeBase64(fields, "data", in: what)
        } else {
            data = Data(dataRaw)
        }
        var metadata: Data?
        if let metaRaw = fields.raw("metadata"), !metaRaw.elementsEqual("null".utf8) {
            if base64 {
                metadata = try decodeBase64(fields, "metadata", in: what)
            } else {
                guard metaRaw.first == UInt8(ascii: "{") else { throw APIError.malformed("\"metadata\" must be a JSON object or null in \(what)") }
                metadata = Data(metaRaw)
            }
        }
        return EventData(id: try eventID(fields, in: what) ?? EventID.random(), type: type, data: data, contentType: contentType, metadata: metadata)
    }

    static func eventID(_ fields: JSONObjectFields, in what: String) throws(APIError) -> UUID? {
        guard let text = try string(fields, "id", in: what) else { return nil }
        guard let id = UUID(uuidString: text) else { throw APIError.malformed("\"id\" is not a UUID in \(what): \"\(text)\"") }
        return id
    }

    static func decodeBase64(_ fields: JSONObjectFields, _ name: String, in what: String) throws(APIError) -> Data {
        guard let text = try string(fields, name, in: what), let bytes = Data(base64Encoded: text) else {
            throw APIError.malformed("\"\(name)\" must be a base64 string in \(what)")
        }
        return bytes
    }

    /// The events of a request, checked against the server's limits before the store sees them.
    static func events(_ fields: JSONObjectFields, base64: Bool, limits: ServerLimits, in what: String) throws(APIError) -> [EventData] {
        guard let raws = try array(fields, "events", in: what) else { throw APIError.malformed("\"events\" is missing in \(what)") }
        guard raws.count <= limits.maxEventsPerAppend else { throw APIError.tooManyEvents(raws.count, limit: limits.maxEventsPerAppend) }
        var events: [EventData] = []
        events.reserveCapacity(raws.count)
        for (index, raw) in raws.enumerated() {
            let event = try event(raw, index: index, base64: base64)
            if event.encodedSize > limits.maxEventBytes {
                throw APIError(StrataError.eventTooLarge(id: event.id.uuidString, size: event.encodedSize, limit: limits.maxEventBytes))
            }
            events.append(event)
        }
        return events
    }

    /// `POST /streams/{stream}`.
    static func append(stream: String, body: [UInt8], limits: ServerLimits) throws(APIError) -> AppendRequest {
        let fields = try object(body)
        try check(fields, allowed: ["expectedRevision", "encoding", "events"], in: "the append")
        let base64 = try isBase64(fields, in: "the append")
        return AppendRequest(stream: stream, expectedRevision: try expectedRevision(fields, in: "the append"),
                             events: try events(fields, base64: base64, limits: limits, in: "the append"))
    }

    /// `POST /append`.
    static func multiAppend(body: [UInt8], limits: ServerLimits) throws(APIError) -> ([AppendRequest], AppendCondition?) {
        let fields = try object(body)
        try check(fields, allowed: ["requests", "condition", "encoding"], in: "the append")
        let base64 = try isBase64(fields, in: "the append")
        guard let raws = try array(fields, "requests", in: "the append") else { throw APIError.malformed("\"requests\" is missing") }
        var requests: [AppendRequest] = []
        var total = 0
        for (index, raw) in raws.enumerated() {
            let what = "requests[\(index)]"
            let request = try nested(raw, in: what)
            try check(request, allowed: ["stream", "expectedRevision", "events"], in: what)
            guard let stream = try string(request, "stream", in: what) else { throw APIError.malformed("\"stream\" is missing in \(what)") }
            let events = try events(request, base64: base64, limits: limits, in: what)
            total += events.count
            guard total <= limits.maxEventsPerAppend else { throw APIError.tooManyEvents(total, limit: limits.maxEventsPerAppend) }
            requests.append(AppendRequest(stream: stream, expectedRevision: try expectedRevision(request, in: what), events: events))
        }
        var condition: AppendCondition?
        if let raw = fields.raw("condition"), !raw.elementsEqual("null".utf8) {
            let c = try nested(raw, in: "condition")
            try check(c, allowed: ["query", "after"], in: "condition")
            var after: UInt64?
            if let a = c.scalar("after"), a != "null" {
                guard let n = UInt64(a) else { throw APIError.badParameter("condition.after must be a position, not \(a)") }
                after = n
            }
            var items: [EventQuery.Item] = []
            for (index, itemRaw) in (try array(c, "query", in: "condition") ?? []).enumerated() {
                let what = "condition.query[\(index)]"
                let item = try nested(itemRaw, in: what)
                try check(item, allowed: ["types", "tags"], in: what)
                items.append(EventQuery.Item(types: Set(try strings(item, "types", in: what)), tags: Set(try strings(item, "tags", in: what))))
            }
            condition = AppendCondition(failIfEventsMatch: EventQuery(items: items), after: after)
        }
        return (requests, condition)
    }

    static func strings(_ fields: JSONObjectFields, _ name: String, in what: String) throws(APIError) -> [String] {
        var out: [String] = []
        for raw in try array(fields, name, in: what) ?? [] {
            guard raw.first == UInt8(ascii: "\"") else { throw APIError.malformed("\"\(name)\" must hold strings in \(what)") }
            do { out.append(try JSONObjectFields.decodeString(raw)) } catch { throw APIError.malformed("\(error.description) in \(what)") }
        }
        return out
    }

    /// `PUT /streams/{stream}/metadata`.
    static func metadata(body: [UInt8]) throws(APIError) -> StreamMetadata {
        let fields = try object(body)
        let what = "the metadata"
        try check(fields, allowed: ["maxCount", "maxAge", "truncateBefore", "custom", "customBase64"], in: what)
        var metadata = StreamMetadata()
        if let v = fields.scalar("maxCount"), v != "null" {
            guard let n = Int(v) else { throw APIError.badParameter("maxCount must be an integer, not \(v)") }
            metadata.maxCount = n
        }
        // A number, or a string for what JSON cannot spell ("NaN"), which the store then refuses.
        var maxAgeText = fields.scalar("maxAge")
        if maxAgeText == nil { maxAgeText = try string(fields, "maxAge", in: what) }
        if let v = maxAgeText, v != "null" {
            guard let n = Double(v) else { throw APIError.badParameter("maxAge must be a number, not \(v)") }
            metadata.maxAge = n
        }
        if let v = fields.scalar("truncateBefore"), v != "null" {
            guard let n = UInt64(v) else { throw APIError.badParameter("truncateBefore must be a revision, not \(v)") }
            metadata.truncateBefore = n
        }
        if let raw = fields.raw("custom"), !raw.elementsEqual("null".utf8) { metadata.custom = Data(raw) }
        if fields.raw("customBase64") != nil { metadata.custom = try decodeBase64(fields, "customBase64", in: what) }
        return metadata
    }
}

extension APIError {
    static func tooManyEvents(_ count: Int, limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "too-many-events", "\(count) events in one request; this server takes at most \(limit)",
                 details: [("count", .signed(Int64(count))), ("limit", .signed(Int64(limit)))])
    }
}
