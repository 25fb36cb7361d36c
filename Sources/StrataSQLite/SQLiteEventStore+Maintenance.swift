import Foundation
import Strata

extension SQLiteEventStore: MaintainableEventStore {
    /// Rows deleted per transaction: appends wait for at most one chunk.
    static let scavengeChunk = 10_000

    /// The events no stream read returns (docs/CONTRACT.md "Scavenging"; the same rule as
    /// `StreamVisibility`): of tombstoned streams, soft-deleted revisions, and those `maxCount`,
    /// `truncateBefore` or `maxAge` hide.
    static let hiddenEvents = """
        SELECT e.position FROM strata_events e JOIN strata_streams s ON s.id = e.stream_id
        WHERE s.tombstoned = 1
           OR e.revision <= s.deleted_through
           OR (s.truncate_before IS NOT NULL AND e.revision < s.truncate_before)
           OR (s.max_count IS NOT NULL AND e.revision <= s.last_revision - s.max_count)
           OR (s.max_age IS NOT NULL AND e.recorded_at < ?1 - CAST(ROUND(s.max_age * 1000000) AS INTEGER))
        LIMIT \(scavengeChunk)
        """

    /// Deletes the rows of events no read can return, in transactions of 10,000 rows on a
    /// connection of its own (appends go on between them), then checkpoints the WAL. The file
    /// keeps its size: freed pages are reused by later appends (docs/SQLITE.md, "Scavenging").
    /// The report's bytes are the pages in use.
    public func scavenge() async throws -> ScavengeReport {
        let started = ContinuousClock.now
        let now = currentMicroseconds()
        let (removed, before, after) = try await maintenance { db in
            try Self.deleteInChunks(db, sql: "DELETE FROM strata_events WHERE position IN (\(Self.hiddenEvents))") { $0.bind(1, now) }
        }
        return ScavengeReport(eventsRemoved: removed, bytesBefore: before, bytesAfter: after, segmentsRewritten: 0, started: started)
    }

    /// Clears the stream's metadata, tombstones it, appends the audit event to `$erasures`, then
    /// deletes its rows and its metadata with `secure_delete` (the freed bytes are overwritten
    /// with zeros) and checkpoints the WAL so that no old page image remains in it.
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try Erasure.validate(stream)
        let info = try await streamInfo(stream)
        try Erasure.checkKnown(info)
        if !info.isTombstoned {
            _ = try await writer.submit(.delete(stream: stream, expected: .any, mode: .tombstone))
        }
        let audit = AppendRequest(stream: Erasure.auditStream, events: [Erasure.auditEvent(stream: stream, lastRevision: info.lastRevision, reason: reason)])
        let results = try await writer.submit(.append([audit], condition: nil))
        let (removed, _, _) = try await maintenance { db in
            let removed = try Self.deleteInChunks(db, sql: """
                DELETE FROM strata_events WHERE position IN (SELECT position FROM strata_events
                    WHERE stream_id = (SELECT id FROM strata_streams WHERE name = ?1) LIMIT \(Self.scavengeChunk))
                """) { $0.bind(1, stream) }
            try db.run("UPDATE strata_streams SET max_count = NULL, max_age = NULL, truncate_before = NULL, custom = NULL WHERE name = ?") {
                $0.bind(1, stream)
            }
            return removed
        }
        return ErasureReport(stream: stream, eventsErased: removed, auditPosition: results.first?.lastPosition ?? 0)
    }

    /// Runs `body` on a connection of its own with `secure_delete` on, on a thread of its own,
    /// then checkpoints the WAL; returns what `body` returned and the bytes in use before and after.
    private func maintenance(_ body: @escaping @Sendable (SQLiteConnection) throws -> Int) async throws -> (Int, Int64, Int64) {
        if closed.load(ordering: .acquiring) { throw StrataError.storeClosed(reason: "close() was called") }
        let path = path
        let timeout = configuration.busyTimeoutMilliseconds
        let result = try await BlockingWork.run {
            try SQLiteError.mapped {
                let db = try SQLiteConnection(path: path)
                defer { db.close() }
                db.setBusyTimeout(milliseconds: timeout)
                try db.execute("PRAGMA secure_delete = ON")
                let before = try Self.bytesInUse(db)
                let value = try body(db)
                try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return (value, before, try Self.bytesInUse(db))
            }
        }
        _ = try watcher.poll()
        return result
    }

    /// Deletes with `sql` (a DELETE of at most one chunk) until a chunk deletes less than a
    /// chunk, each in its own transaction that first records the head as the position floor
    /// (so that removing the newest events never lets a position be reused).
    private static func deleteInChunks(_ db: SQLiteConnection, sql: String, bind: (SQLiteStatement) -> Void) throws -> Int {
        var removed = 0
        while true {
            try db.run("BEGIN IMMEDIATE")
            do {
                let head = try SQLiteReaders.head(db)
                try db.run("INSERT INTO strata_meta(key, value) VALUES ('position_floor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value") {
                    $0.bind(1, String(head))
                }
                try db.run(sql, bind)
                let count = db.changes
                try db.run("COMMIT")
                removed += count
                if count < scavengeChunk { return removed }
            } catch {
                db.rollbackQuietly()
                throw error
            }
        }
    }

    /// Bytes of the pages in use (the file's pages less the free list).
    private static func bytesInUse(_ db: SQLiteConnection) throws -> Int64 {
        let pageSize = try db.integer("PRAGMA page_size")
        return (try db.integer("PRAGMA page_count") - (try db.integer("PRAGMA freelist_count"))) * pageSize
    }
}
