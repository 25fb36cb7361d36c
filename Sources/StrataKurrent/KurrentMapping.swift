import Foundation
import GRPCCore
import Strata
import SwiftProtobuf

/// How KurrentDB's client protocol and Strata's contract map onto each other (docs/KURRENTDB.md,
/// "Mapping"): revisions are 0-based there and 1-based here; `$all` positions are a (commit,
/// prepare) pair there and one number here, sent as both; event ids travel as text or as two
/// signed 64-bit halves.
enum KurrentMapping {
    // MARK: Revisions and positions

    /// The protocol's revision of a Strata revision (which is never 0 for an event).
    static func revision(_ strata: UInt64) -> UInt64 { strata &- 1 }

    /// The Strata revision of the protocol's revision.
    static func strataRevision(_ kurrent: UInt64) -> UInt64 { kurrent == UInt64.max ? kurrent : kurrent + 1 }

    /// The version number KurrentDB prints for an expected revision: the revision, or -1 (no
    /// stream), -2 (any), -4 (stream exists).
    static func versionNumber(_ expected: ExpectedRevision) -> Int64 {
        switch expected {
        case .any: -2
        case .noStream: -1
        case .streamExists: -4
        case .exact(let n): Int64(revision(n))
        }
    }

    // MARK: Event ids

    /// The event id a client sent, or `nil` when it is neither form of a UUID.
    static func uuid(_ id: EventStore_Client_UUID) -> UUID? {
        switch id.value {
        case .string(let text)?: return UUID(uuidString: text)
        case .structured(let halves)?:
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                bytes[i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: halves.mostSignificantBits) >> UInt64(56 - 8 * i))
                bytes[8 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: halves.leastSignificantBits) >> UInt64(56 - 8 * i))
            }
            return bytes.withUnsafeBytes { raw in UUID(uuid: raw.loadUnaligned(as: uuid_t.self)) }
        case nil: return nil
        }
    }

    /// An event id in the form the client asked for (text unless it asked for the halves).
    static func uuid(_ id: UUID, structured: Bool) -> EventStore_Client_UUID {
        var message = EventStore_Client_UUID()
        if structured {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            var high: UInt64 = 0, low: UInt64 = 0
            for i in 0..<8 {
                high = high << 8 | UInt64(bytes[i])
                low = low << 8 | UInt64(bytes[8 + i])
            }
            var halves = EventStore_Client_UUID.Structured()
            halves.mostSignificantBits = Int64(bitPattern: high)
            halves.leastSignificantBits = Int64(bitPattern: low)
            message.structured = halves
        } else {
            message.string = id.uuidString.lowercased()
        }
        return message
    }

    // MARK: Stream names

    /// A stream identifier's name.
    /// - Throws: `invalidArgument` when the bytes are not UTF-8.
    static func streamName(_ identifier: EventStore_Client_StreamIdentifier) throws -> String {
        guard let name = String(data: identifier.streamName, encoding: .utf8) else {
            throw RPCError(code: .invalidArgument, message: "the stream name is not UTF-8")
        }
        return name
    }

    static func identifier(_ stream: String) -> EventStore_Client_StreamIdentifier {
        var identifier = EventStore_Client_StreamIdentifier()
        identifier.streamName = Data(stream.utf8)
        return identifier
    }

    // MARK: Events

    /// A proposed event: its type and content type come from the `type` and `content-type`
    /// metadata entries, its metadata from the custom metadata (empty: none).
    static func eventData(id: EventStore_Client_UUID, metadata: [String: String], customMetadata: Data, data: Data) throws -> EventData {
        guard let uuid = uuid(id) else { throw StrataError.invalidAppend(reason: "an event id is not a UUID") }
        guard let type = metadata["type"] else {
            throw StrataError.invalidEvent(id: uuid.uuidString.lowercased(), reason: "the event has no \"type\" metadata entry")
        }
        let contentType = metadata["content-type"].map { ContentType($0) } ?? .binary
        return EventData(id: uuid, type: type, data: data, contentType: contentType,
                         metadata: customMetadata.isEmpty ? nil : customMetadata)
    }

    /// A recorded event as the protocol's streams and persistent-subscription services send it.
    static func fill(_ message: inout some KurrentRecordedEvent, _ event: RecordedEvent, structuredIDs: Bool) {
        message.id = uuid(event.id, structured: structuredIDs)
        message.streamIdentifier = identifier(event.stream)
        message.streamRevision = revision(event.revision)
        message.commitPosition = event.position
        message.preparePosition = event.position
        message.metadata = metadataEntries(event)
        message.customMetadata = event.metadata ?? Data()
        message.data = event.data
    }

    /// The `metadata` map of a recorded event: its type, content type, and `created` in .NET
    /// ticks (100 ns) since the Unix epoch, as the clients parse it.
    static func metadataEntries(_ event: RecordedEvent) -> [String: String] {
        ["type": event.type, "content-type": event.contentType.rawValue, "created": String(event.recordedAtMicroseconds * 10)]
    }

    static func readEvent(_ event: RecordedEvent, structuredIDs: Bool) -> EventStore_Client_Streams_ReadResp {
        var recorded = EventStore_Client_Streams_ReadResp.ReadEvent.RecordedEvent()
        fill(&recorded, event, structuredIDs: structuredIDs)
        var read = EventStore_Client_Streams_ReadResp.ReadEvent()
        read.event = recorded
        read.commitPosition = event.position
        var response = EventStore_Client_Streams_ReadResp()
        response.event = read
        return response
    }

    static func now() -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: Date()) }
}

/// The recorded-event message of the streams service and of the persistent-subscriptions
/// service: two generated types with the same fields, filled by one ``KurrentMapping/fill(_:_:structuredIDs:)``.
protocol KurrentRecordedEvent {
    var id: EventStore_Client_UUID { get set }
    var streamIdentifier: EventStore_Client_StreamIdentifier { get set }
    var streamRevision: UInt64 { get set }
    var commitPosition: UInt64 { get set }
    var preparePosition: UInt64 { get set }
    var metadata: [String: String] { get set }
    var customMetadata: Data { get set }
    var data: Data { get set }
}

extension EventStore_Client_Streams_ReadResp.ReadEvent.RecordedEvent: KurrentRecordedEvent {}
extension EventStore_Client_PersistentSubscriptions_ReadResp.ReadEvent.RecordedEvent: KurrentRecordedEvent {}
