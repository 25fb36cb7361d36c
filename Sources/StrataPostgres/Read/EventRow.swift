import Foundation
import PostgresNIO
import Strata

/// The columns every event read selects, and their decoding into a ``RecordedEvent``.
enum EventRow {
    /// The select list, in decoding order; `e` is the events table's alias.
    static let columns = "e.position, e.id, e.stream, e.revision, e.recorded_at, e.type, e.content_type, e.data, e.metadata"

    /// The number of columns in ``columns``.
    static let columnCount = 9

    /// Decodes an event from `row`, whose first columns are ``columns`` (after `skipping` others).
    static func decode(_ row: PostgresRow) throws -> RecordedEvent {
        let (position, id, stream, revision, recordedAt, type, contentType, data, metadata) =
            try row.decode((Int64, UUID, String, Int64, Int64, String, String, Data, Data?).self)
        return RecordedEvent(id: id, stream: stream, revision: UInt64(revision), position: UInt64(position),
                             recordedAtMicroseconds: recordedAt, type: type, contentType: ContentType(StoredText.decode(contentType)),
                             data: data, metadata: metadata)
    }
}

/// A stream's row in the `streams` table: its write state and metadata.
struct StreamRow: Sendable {
    var lastRevision: UInt64
    var deletedThrough: UInt64
    var tombstoned: Bool
    var metadata: StreamMetadata

    /// Whether the stream exists: written, not soft-deleted since, not tombstoned.
    var exists: Bool { !tombstoned && lastRevision > deletedThrough }

    /// The state an append or delete decides against.
    var writeState: StreamWriteState {
        StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned)
    }

    /// The select list for ``decode(_:)``.
    static let columns = "last_revision, deleted_through, tombstoned, max_count, max_age, truncate_before, custom_metadata"

    static func decode(_ row: PostgresRow) throws -> StreamRow {
        let (last, deleted, tombstoned, maxCount, maxAge, truncateBefore, custom) =
            try row.decode((Int64, Int64, Bool, Int64?, Double?, Int64?, Data?).self)
        return StreamRow(lastRevision: UInt64(last), deletedThrough: UInt64(deleted), tombstoned: tombstoned,
                         metadata: StreamMetadata(maxCount: maxCount.map { Int($0) }, maxAge: maxAge,
                                                  truncateBefore: truncateBefore.map { UInt64(bitPattern: $0) }, custom: custom))
    }
}
