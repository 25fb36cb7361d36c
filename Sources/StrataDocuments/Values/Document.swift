import Strata
import Foundation
import StrataJSON

/// A stored document: its key, its data (which always holds `"id": key`) and its meta.
public struct Document: Sendable, Hashable {
    /// The document's key (also `data["id"]` and `meta.id`).
    public let key: String
    /// The document, a JSON object.
    public let data: DocumentValue
    /// Dates and change count.
    public let meta: DocumentMeta

    /// The key, named as eventbase's `insert` names it.
    public var id: String { key }

    /// Creates a document.
    public init(key: String, data: DocumentValue, meta: DocumentMeta) {
        self.key = key
        self.data = data
        self.meta = meta
    }

    /// `{"data": …, "meta": …}`, eventbase's `get` shape.
    public var json: DocumentValue { ["data": data, "meta": meta.json] }
}

/// What the store tracks about a document, derived from its events only, so a live view and a
/// replay give the same meta.
public struct DocumentMeta: Sendable, Hashable {
    /// The document's key.
    public let id: String
    /// When the document was created: the recorded time of its first write since it last did
    /// not exist, in milliseconds since 1970 (UTC).
    public let createdMilliseconds: Int64
    /// When it was last written: the recorded time of the last put or patch, but at least one
    /// millisecond after the previous value, so every update shows a later date.
    public let modifiedMilliseconds: Int64
    /// Puts and patches since the document was (re)created: 1 after the first write.
    public let changes: Int

    /// Creates meta.
    public init(id: String, createdMilliseconds: Int64, modifiedMilliseconds: Int64, changes: Int) {
        self.id = id
        self.createdMilliseconds = createdMilliseconds
        self.modifiedMilliseconds = modifiedMilliseconds
        self.changes = changes
    }

    /// ``createdMilliseconds`` in ISO 8601 UTC with milliseconds: `2026-11-23T21:57:32.123Z`.
    public var dateCreated: String { UTCTime.iso8601(createdMilliseconds &* 1000, fractionDigits: 3) }
    /// ``modifiedMilliseconds`` in ISO 8601 UTC with milliseconds.
    public var dateModified: String { UTCTime.iso8601(modifiedMilliseconds &* 1000, fractionDigits: 3) }

    /// `{"id", "dateCreated", "dateModified", "changes"}`.
    public var json: DocumentValue {
        ["id": .string(id), "dateCreated": .string(dateCreated), "dateModified": .string(dateModified), "changes": .int(Int64(changes))]
    }
}
