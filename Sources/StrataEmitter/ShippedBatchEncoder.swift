import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// Writes a batch in the wire format of docs/EMITTER.md (version 1):
/// `{"events":[{"id","type","ts","source","data"},…]}`.
///
/// - `id`: the event id, lowercase UUID.
/// - `ts`: the `ts` of the event's metadata (the emitter's time) or else the store's
///   `recordedAt`, ISO 8601 UTC with milliseconds.
/// - `source`: the `source` object of the metadata, or else the shipper's default source.
/// - `data`: the event's data when it is JSON, else a JSON string holding its base64.
struct ShippedBatchEncoder: Sendable {
    /// The source written for events whose metadata has none.
    let defaultSource: [UInt8]

    func encode(_ events: [RecordedEvent]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 256 + 16)
        out.append(contentsOf: #"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(event, to: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    private func append(_ event: RecordedEvent, to out: inout [UInt8]) {
        var ts: ArraySlice<UInt8>?
        var source: ArraySlice<UInt8>?
        if let metadata = event.metadata, !metadata.isEmpty, let fields = try? JSONObjectFields(Array(metadata)) {
            if let raw = fields.raw("ts"), raw.first == UInt8(ascii: "\"") { ts = raw }
            if let raw = fields.raw("source"), raw.first == UInt8(ascii: "{") { source = raw }
        }
        out.append(contentsOf: #"{"id":""#.utf8)
        out.append(contentsOf: event.id.uuidString.lowercased().utf8)
        out.append(contentsOf: #"","type":"#.utf8)
        var type = JSONWriter()
        type.string(event.type)
        out.append(contentsOf: type.bytes)
        out.append(contentsOf: #","ts":"#.utf8)
        if let ts {
            out.append(contentsOf: ts)
        } else {
            out.append(UInt8(ascii: "\""))
            UTCTime.appendISO8601(event.recordedAtMicroseconds, fractionDigits: 3, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: #","source":"#.utf8)
        out.append(contentsOf: source ?? defaultSource[...])
        out.append(contentsOf: #","data":"#.utf8)
        if event.contentType.isJSON, JSONSyntax.isValid(event.data) {
            out.append(contentsOf: event.data)
        } else {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: event.data.base64EncodedString().utf8)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
    }
}
