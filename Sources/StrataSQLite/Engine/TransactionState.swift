import Foundation
import Strata

/// The append planner's view of the database inside the writer's open transaction. Every
/// answer is read from the file inside that transaction (never from a cache kept between
/// transactions), so appends by other processes are always seen.
///
/// While ``assumesNewIDs`` is set, ``containsAny(of:)`` answers "none" without looking: the
/// unique index on `strata_events.id` then catches a stored id at INSERT, and the writer runs
/// the batch again with lookups (see `SQLiteWriter`). Retries are rare; the lookup of every id
/// of every append is not.
final class TransactionState: AppendStateSource {
    let db: SQLiteConnection
    /// Whether to skip the lookup of new ids (the optimistic path).
    var assumesNewIDs: Bool
    /// Stream rows read or written in this transaction, by name (nil: the stream is unknown).
    private var rows: [String: StreamRow?] = [:]

    init(db: SQLiteConnection, assumesNewIDs: Bool) {
        self.db = db
        self.assumesNewIDs = assumesNewIDs
    }

    /// The stream's row in this transaction, if it has one.
    func row(_ stream: String) throws -> StreamRow? {
        if let cached = rows[stream] { return cached }
        let row = try StreamRow.load(stream, on: db)
        rows[stream] = row
        return row
    }

    /// Records a row this transaction wrote.
    func remember(_ row: StreamRow, as stream: String) { rows[stream] = row }

    /// Forgets a row whose columns this transaction changed by SQL; the next use re-reads it.
    func forget(_ stream: String) { rows[stream] = nil }

    func writeState(of stream: String) throws -> StreamWriteState {
        try row(stream)?.writeState ?? .new
    }

    func location(ofEvent id: UUID) throws -> EventLocation? {
        let query = try db.cached("""
            SELECT e.position, e.revision, s.name FROM strata_events e JOIN strata_streams s ON s.id = e.stream_id WHERE e.id = ?
            """)
        defer { query.reset() }
        query.bind(1, id)
        guard try query.step() else { return nil }
        return EventLocation(stream: query.text(2), revision: query.uint64(1), position: query.uint64(0))
    }

    func containsAny(of ids: [UUID]) throws -> Bool {
        if assumesNewIDs { return false }
        let query = try db.cached("SELECT 1 FROM strata_events WHERE id = ?")
        for id in ids {
            query.bind(1, id)
            let found = try query.step()
            query.reset()
            if found { return true }
        }
        return false
    }

    /// Scans events after `position` in order. When every item of the query names types, only
    /// rows of those types are decoded; tags are read from the metadata of those rows.
    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        var types = Set<String>()
        var anyType = false
        for item in query.items {
            if item.types.isEmpty { anyType = true } else { types.formUnion(item.types) }
        }
        if query.items.isEmpty { return nil }
        let typeList = anyType ? [] : types.sorted()
        let placeholders = typeList.map { _ in "?" }.joined(separator: ", ")
        let sql = "SELECT position, type, metadata FROM strata_events WHERE position > ?"
            + (typeList.isEmpty ? "" : " AND type IN (\(placeholders))") + " ORDER BY position"
        let scan = try db.prepare(sql)
        scan.bind(1, position)
        for (i, type) in typeList.enumerated() { scan.bind(Int32(i + 2), type) }
        while try scan.step() {
            let candidate = RecordedEvent(id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), stream: "", revision: 0,
                                          position: scan.uint64(0), recordedAtMicroseconds: 0, type: scan.text(1),
                                          data: Data(), metadata: scan.optionalData(2))
            if query.matches(candidate) { return candidate.position }
        }
        return nil
    }
}
