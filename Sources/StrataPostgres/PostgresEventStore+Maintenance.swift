import Foundation
import PostgresNIO
import Strata

extension PostgresEventStore: MaintainableEventStore {
    /// Rows deleted per statement: appends wait for at most one chunk.
    static let scavengeChunk = 10_000

    /// Deletes the rows of events no stream read returns (docs/CONTRACT.md, "Scavenging"; the
    /// same rule as `StreamVisibility`, `maxAge` measured by the database clock), 10,000 per
    /// statement. The head row keeps the last position, so positions are never reused. The
    /// report's bytes are the events table's size as PostgreSQL reports it: deleted rows become
    /// free space that later appends reuse once (auto)vacuumed; only `VACUUM FULL` shrinks the
    /// table (docs/POSTGRES.md, "Scavenging and erasure").
    public func scavenge() async throws -> ScavengeReport {
        try core.checkOpen()
        let started = ContinuousClock.now
        let events = core.sql.schema.table("events"), streams = core.sql.schema.table("streams")
        let before = try await tableBytes()
        let removed = try await deleteInChunks("""
            SELECT e.position FROM \(events) e JOIN \(streams) s ON s.name = e.stream
            WHERE s.tombstoned OR e.revision <= s.deleted_through
               OR (s.truncate_before IS NOT NULL AND e.revision < s.truncate_before)
               OR (s.max_count IS NOT NULL AND e.revision <= s.last_revision - s.max_count)
               OR (s.max_age IS NOT NULL AND e.recorded_at <
                   (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - round(s.max_age * 1000000)::bigint)
            """, binds: PostgresBindings())
        return ScavengeReport(eventsRemoved: removed, bytesBefore: before, bytesAfter: try await tableBytes(), segmentsRewritten: 0, started: started)
    }

    /// Tombstones the stream, appends the audit event to `$erasures`, deletes the stream's rows
    /// and clears its metadata. PostgreSQL keeps deleted row versions in the table's pages (and
    /// its WAL, replicas and backups) until they are vacuumed and overwritten: run
    /// `VACUUM FULL` on the events and streams tables to remove the bytes (docs/POSTGRES.md).
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try Erasure.validate(stream)
        try core.checkOpen()
        let info = try await streamInfo(stream)
        try Erasure.checkKnown(info)
        if !info.isTombstoned { try await deleteStream(stream, expectedRevision: .any, mode: .tombstone) }
        let audit = AppendRequest(stream: Erasure.auditStream, events: [Erasure.auditEvent(stream: stream, lastRevision: info.lastRevision, reason: reason)])
        let results = try await writer.submit([audit], condition: nil)
        let events = core.sql.schema.table("events"), streams = core.sql.schema.table("streams")
        let removed = try await deleteInChunks("SELECT position FROM \(events) WHERE stream = $1", binds: try binds(stream))
        let core = self.core
        try await core.withConnection("erase a stream's metadata") { connection in
            try await connection.run(PostgresQuery(unsafeSQL: """
                UPDATE \(streams) SET max_count = NULL, max_age = NULL, truncate_before = NULL, custom_metadata = NULL WHERE name = $1
                """, binds: try binds(stream)), logger: core.logger)
        }
        return ErasureReport(stream: stream, eventsErased: removed, auditPosition: results.first?.lastPosition ?? 0)
    }

    /// Deletes the events whose positions `select` returns, a chunk per statement, until a
    /// statement deletes less than a chunk; returns how many went.
    private func deleteInChunks(_ select: String, binds: PostgresBindings) async throws -> Int {
        let core = self.core
        let events = core.sql.schema.table("events")
        let sql = """
            WITH gone AS (DELETE FROM \(events) WHERE position IN (\(select) LIMIT \(Self.scavengeChunk)) RETURNING 1)
            SELECT count(*) FROM gone
            """
        var removed = 0
        while true {
            let count = try await core.withConnection("scavenge") { connection in
                let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: binds), logger: core.logger)
                return Int(try rows.first?.decode(Int64.self) ?? 0)
            }
            removed += count
            if count < Self.scavengeChunk { return removed }
        }
    }

    /// The events table's size, indexes and TOAST included, as the server reports it.
    private func tableBytes() async throws -> Int64 {
        let core = self.core
        let events = core.sql.schema.table("events")
        return try await core.withConnection("measure the events table") { connection in
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: "SELECT pg_total_relation_size('\(events)'::regclass)"), logger: core.logger)
            return try rows.first?.decode(Int64.self) ?? 0
        }
    }
}
