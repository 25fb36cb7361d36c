import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// The identity a change event carries in its metadata's `"source"`, as a document value.
extension SourceIdentity {
    /// The JSON object: `{"id":…,"name":…,"class":…,"region":…,"worker":…}` (absent members left out).
    var documentJSON: DocumentValue {
        var members: [String: DocumentValue] = ["id": .string(id)]
        if let name { members["name"] = .string(name) }
        if let `class` { members["class"] = .string(`class`) }
        if let region { members["region"] = .string(region) }
        if let worker { members["worker"] = .string(worker) }
        return .object(members)
    }

    init?(documentJSON json: DocumentValue?) {
        guard let json, case .string(let id)? = json["id"] else { return nil }
        self.init(id: id, name: json["name"]?.stringValue, class: json["class"]?.stringValue,
                  region: json["region"]?.stringValue, worker: json["worker"]?.stringValue)
    }
}

/// One change of a CDC collection, as stored in its change stream `cdc-<collection>`
/// (change event format version 1, see docs/CDC.md).
///
/// The event's type is the operation's raw value (`collection.insert`,
/// `collection.update`, `collection.delete`), its data `{"collection","docId","doc"?,"prev"?}`,
/// its metadata `{"ts", "source"?}`. ``bookmark`` is the event's store position: state "as of a
/// bookmark" (``DocumentTimeline``) includes the change.
public struct CDCChange: Sendable, Hashable {
    /// What happened to the document.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        /// The document did not exist (or was deleted) and was written.
        case insert = "collection.insert"
        /// An existing document was replaced.
        case update = "collection.update"
        /// An existing document was deleted.
        case delete = "collection.delete"
    }

    /// The change's kind (the event type).
    public let type: Operation
    /// The collection.
    public let collection: String
    /// The document's key.
    public let docId: String
    /// The document after the change (insert and update; `nil` for delete).
    public let doc: DocumentValue?
    /// The document before the change: updates and deletes of collections with
    /// `trackPrevious`; `nil` otherwise.
    public let prev: DocumentValue?
    /// The change event's position in the store (its `$all` position).
    public let bookmark: UInt64
    /// When the change was made: ISO 8601 UTC with milliseconds (the writer's clock).
    public let ts: String
    /// Who made it, when the collection was given a source.
    public let source: SourceIdentity?
    /// The change event's id (for deduplication downstream).
    public let eventId: UUID

    /// Creates a change value.
    public init(type: Operation, collection: String, docId: String, doc: DocumentValue?, prev: DocumentValue?, bookmark: UInt64,
                ts: String, source: SourceIdentity?, eventId: UUID) {
        self.type = type
        self.collection = collection
        self.docId = docId
        self.doc = doc
        self.prev = prev
        self.bookmark = bookmark
        self.ts = ts
        self.source = source
        self.eventId = eventId
    }

    /// The first part of every change stream's name.
    static let streamPrefixName = "cdc"

    /// The change stream of a collection: `cdc-<collection>`.
    public static func stream(collection: String) -> String { streamPrefixName + "-" + collection }

    /// The event types of changes.
    public static let eventTypes: Set<String> = Set(Operation.allCases.map(\.rawValue))

    /// The `$all` filter of a collection's change events: the stream prefix `cdc-<collection>`
    /// and the change event types. The prefix also matches the change streams of longer
    /// collection names (`cdc-users.archive`): keep what ``decode(_:collection:)`` accepts.
    public static func eventFilter(collection: String) -> EventFilter {
        EventFilter(streamPrefixes: [stream(collection: collection)], eventTypes: eventTypes)
    }

    /// The change an event read from `$all` holds, or `nil` when the event is not one of
    /// `collection`'s change events.
    /// - Throws: `StrataError.eventDecodingFailed(position:type:field:reason:)` for an event
    ///   of the change stream that is not a version-1 change event.
    public static func decode(_ event: RecordedEvent, collection: String) throws -> CDCChange? {
        guard event.stream == stream(collection: collection), eventTypes.contains(event.type) else { return nil }
        return try decode(event)
    }

    /// The event to append for a change (its position is not known yet).
    static func event(_ type: Operation, collection: String, docId: String, doc: DocumentValue?, prev: DocumentValue?,
                      ts: String, source: SourceIdentity?) -> EventData {
        var members: [String: DocumentValue] = ["collection": .string(collection), "docId": .string(docId)]
        if let doc { members["doc"] = doc }
        if let prev { members["prev"] = prev }
        var metadata: [String: DocumentValue] = ["ts": .string(ts)]
        if let source { metadata["source"] = source.documentJSON }
        return EventData(type: type.rawValue, data: Data(DocumentValue.object(members).jsonBytes),
                         metadata: Data(DocumentValue.object(metadata).jsonBytes))
    }

    /// The change a recorded change event holds.
    /// - Throws: `StrataError.eventDecodingFailed(position:type:field:reason:)` for an
    ///   event that is not a version-1 change event.
    static func decode(_ event: RecordedEvent) throws -> CDCChange {
        func failure(_ field: String, _ reason: String) -> StrataError {
            .eventDecodingFailed(position: event.position, type: event.type, field: field, reason: reason)
        }
        guard let type = Operation(rawValue: event.type) else { throw failure("", "not a change event type") }
        let data: DocumentValue
        do { data = try DocumentValue.parse(event.data) } catch { throw failure("", "\(error)") }
        guard case .string(let collection)? = data["collection"] else { throw failure("collection", "missing or not a string") }
        guard case .string(let docId)? = data["docId"] else { throw failure("docId", "missing or not a string") }
        var metadata: DocumentValue = .object([:])
        if let bytes = event.metadata, !bytes.isEmpty {
            do { metadata = try DocumentValue.parse(bytes) } catch { throw failure("metadata", "\(error)") }
        }
        let ts = metadata["ts"]?.stringValue ?? UTCTime.iso8601(event.recordedAtMicroseconds, fractionDigits: 3)
        return CDCChange(type: type, collection: collection, docId: docId, doc: data["doc"], prev: data["prev"], bookmark: event.position,
                         ts: ts, source: SourceIdentity(documentJSON: metadata["source"]), eventId: event.id)
    }
}
