import Foundation
import Hummingbird
import HummingbirdCore
import Strata
import StrataJSONShapes
import StrataJSON

/// `POST /ingest`: an emitter's `{"events":[…]}` batch, idempotent by event id.
extension Handlers {
    private static let ingestKeys: Set<String> = ["id", "type", "stream", "source", "data", "metadata", "ts"]

    /// Parses one ingest event into its stream and the event to store.
    static func ingestEvent(_ raw: ArraySlice<UInt8>, index: Int, defaultSource: String) throws(APIError) -> (String, EventData) {
        let what = "events[\(index)]"
        let fields = try RequestBodies.nested(raw, in: what)
        try RequestBodies.check(fields, allowed: ingestKeys, in: what)
        guard let id = try RequestBodies.eventID(fields, in: what) else { throw APIError.malformed("\"id\" is missing in \(what): ingest needs ids to be idempotent") }
        guard let type = try RequestBodies.string(fields, "type", in: what) else { throw APIError.malformed("\"type\" is missing in \(what)") }
        // `source` is a string (the source id) or an emitter's identity object `{"id", …}`,
        // which is also kept in the metadata.
        var source = defaultSource
        var sourceObject: ArraySlice<UInt8>?
        if let raw = fields.raw("source"), raw.first == UInt8(ascii: "{") {
            let identity = try RequestBodies.nested(raw, in: "\(what).source")
            guard let id = try RequestBodies.string(identity, "id", in: "\(what).source"), !id.isEmpty else {
                throw APIError.malformed("\"source\" in \(what) is an object without a non-empty string \"id\"")
            }
            source = id
            sourceObject = raw
        } else if let id = try RequestBodies.string(fields, "source", in: what) {
            source = id
        }
        let stream = try RequestBodies.string(fields, "stream", in: what) ?? "ingest-\(source)"
        let data = fields.raw("data").map { Data($0) } ?? Data("null".utf8)
        var metadata: [UInt8]?
        if let m = fields.raw("metadata"), !m.elementsEqual("null".utf8) {
            guard m.first == UInt8(ascii: "{") else { throw APIError.malformed("\"metadata\" must be a JSON object or null in \(what)") }
            metadata = Array(m)
        }
        if let ts = fields.raw("ts") {
            metadata = try withField(metadata, "ts", ts, in: what)
        }
        if let sourceObject {
            metadata = try withField(metadata, "source", sourceObject, in: what)
        }
        return (stream, EventData(id: id, type: type, data: data, contentType: .json, metadata: metadata.map { Data($0) }))
    }

    /// Adds `"<key>": <value>` to a metadata object that has no such key (the emitter's time is
    /// kept beside the store's own `recordedAt`, and its source identity beside the stream name).
    static func withField(_ metadata: [UInt8]?, _ key: String, _ value: ArraySlice<UInt8>, in what: String) throws(APIError) -> [UInt8] {
        let member = Array("\"\(key)\":".utf8) + value
        guard var object = metadata else { return [UInt8(ascii: "{")] + member + [UInt8(ascii: "}")] }
        let fields = try RequestBodies.nested(object[...], in: "\(what).metadata")
        if fields.raw(key) != nil { return object }
        let insertion = member + (fields.fields.isEmpty ? [] : [UInt8(ascii: ",")])
        let open = object.firstIndex(of: UInt8(ascii: "{"))!
        object.insert(contentsOf: insertion, at: open + 1)
        return object
    }

    @Sendable func ingest(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let bytes = try await body(request)
        let fields = try RequestBodies.object(bytes)
        try RequestBodies.check(fields, allowed: ["events"], in: "the batch")
        guard let raws = try RequestBodies.array(fields, "events", in: "the batch") else { throw APIError.malformed("\"events\" is missing") }
        guard raws.count <= state.limits.maxEventsPerAppend else { throw APIError.tooManyEvents(raws.count, limit: state.limits.maxEventsPerAppend) }
        let source = Query(request.uri).string("source") ?? "default"
        // Group by stream, keeping first-seen stream order and event order within a stream.
        var order: [String] = []
        var byStream: [String: [EventData]] = [:]
        var count = 0
        for (index, raw) in raws.enumerated() {
            let (stream, event) = try Handlers.ingestEvent(raw, index: index, defaultSource: source)
            guard context.principal.covers(stream: stream) else { throw APIError.outsidePrefix(stream) }
            if event.encodedSize > state.limits.maxEventBytes {
                throw APIError(StrataError.eventTooLarge(id: event.id.uuidString, size: event.encodedSize, limit: state.limits.maxEventBytes))
            }
            if byStream[stream] == nil { order.append(stream) }
            byStream[stream, default: []].append(event)
            count += 1
        }
        var accepted = 0, duplicates = 0
        if count > 0 {
            let requests = order.map { AppendRequest(stream: $0, expectedRevision: .any, events: byStream[$0]!) }
            // Everything is validated first, so a bad event stores nothing.
            try AppendValidation.validate(requests, limits: EventLimits(maxEventSize: state.limits.maxEventBytes))
            let headBefore = try await state.store.headPosition()
            do {
                let results = try await state.append(requests, condition: nil)
                // A whole repeated batch returns where it was stored, at or before the old head.
                if results.allSatisfy({ $0.lastPosition <= headBefore }) { duplicates = count } else { accepted = count }
            } catch StrataError.eventIdReused {
                // A retry that mixes stored and new events: store event by event; a repeat
                // returns its original place, which is at or before the head seen before it.
                for request in requests {
                    for event in request.events {
                        let before = try await state.store.headPosition()
                        let result = try await state.append([AppendRequest(stream: request.stream, expectedRevision: .any, events: [event])], condition: nil)
                        if result[0].lastPosition > before { accepted += 1 } else { duplicates += 1 }
                    }
                }
            }
        }
        var out = JSONWriter()
        out.beginObject()
        out.key("accepted"); out.number(accepted)
        out.key("duplicates"); out.number(duplicates)
        out.endObject()
        return json(out.bytes)
    }
}
