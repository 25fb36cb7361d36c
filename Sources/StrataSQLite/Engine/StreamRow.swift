import Foundation
import Strata
import Synchronization

/// One row of `strata_streams`: a stream's id, write state and metadata.
struct StreamRow {
    /// The columns ``read(_:at:)`` expects, in order.
    static let columns = "id, last_revision, deleted_through, tombstoned, max_count, max_age, truncate_before, custom"

    let id: Int64
    var lastRevision: UInt64
    var deletedThrough: UInt64
    var tombstoned: Bool
    var metadata: StreamMetadata

    /// Written, not soft-deleted since, not tombstoned.
    var exists: Bool { !tombstoned && lastRevision > deletedThrough }

    /// What the append planner decides against.
    var writeState: StreamWriteState {
        StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned)
    }

    /// Which events reads may return now.
    func visibility(now: Int64) -> StreamVisibility {
        StreamVisibility(lastRevision: lastRevision, deletedThrough: deletedThrough, metadata: metadata, nowMicros: now)
    }

    /// Decodes the ``columns`` of the current row.
    static func read(_ s: SQLiteStatement) -> StreamRow {
        StreamRow(
            id: s.int64(0), lastRevision: s.uint64(1), deletedThrough: s.uint64(2), tombstoned: s.int64(3) != 0,
            metadata: StreamMetadata(maxCount: s.isNull(4) ? nil : Int(truncatingIfNeeded: s.int64(4)),
                                     maxAge: s.isNull(5) ? nil : s.double(5),
                                     truncateBefore: s.isNull(6) ? nil : s.uint64(6),
                                     custom: s.optionalData(7)))
    }

    /// The row of a stream, if the store knows it.
    static func load(_ name: String, on db: SQLiteConnection) throws -> StreamRow? {
        let query = try db.cached("SELECT \(columns) FROM strata_streams WHERE name = ?")
        defer { query.reset() }
        query.bind(1, name)
        return try query.step() ? read(query) : nil
    }
}

/// The names of stream ids. A stream's row is never deleted and its name never changes, so the
/// mapping can be kept for the life of the store, whichever process wrote it.
final class StreamNames: Sendable {
    private let names = Mutex<[Int64: String]>([:])

    /// The name of stream `id`, read from `strata_streams` on first use.
    func name(of id: Int64, on db: SQLiteConnection) throws -> String {
        if let name = names.withLock({ $0[id] }) { return name }
        let query = try db.cached("SELECT name FROM strata_streams WHERE id = ?")
        defer { query.reset() }
        query.bind(1, id)
        guard try query.step() else {
            throw StrataError.corruption(path: db.path, offset: 0, reason: "an event refers to stream id \(id), which strata_streams does not hold")
        }
        let name = query.text(0)
        names.withLock { $0[id] = name }
        return name
    }
}
