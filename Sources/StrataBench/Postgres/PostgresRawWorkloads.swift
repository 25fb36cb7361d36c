import Foundation
import PostgresNIO
import Strata
import StrataPostgres

/// Raw SQL inserts into a Strata PostgreSQL schema, without Strata: what the same appends cost
/// when each writer sends one statement per batch on its own connection. Two variants:
///
/// - `counter`: positions from the schema's counter row, as Strata takes them (gap-free): one
///   `UPDATE head … RETURNING` + `INSERT … SELECT FROM unnest(…)` statement per batch, its own
///   transaction. Writers queue on the counter row for the whole commit.
/// - `sequence`: positions from a sequence (the common design, not gap-free: a reader may see
///   p + 1 before p commits): concurrent commits, no queue.
enum PostgresRawWorkloads {
    enum Positions: String { case counter, sequence }

    /// `writers` connections each append `perWriter` batches of `batchSize` events to their own
    /// streams. Returns events per second.
    static func append(url: String, positions: Positions, writers: Int, batchSize: Int, total: Int) async throws -> Double {
        let schema = PostgresBench.schema(for: "raw-\(positions.rawValue)-\(getpid())-\(UUID().uuidString)")
        // A Strata store creates the schema (tables, indexes, counter); then it is closed.
        var configuration = try PostgresConfiguration(url: url)
        configuration.schema = schema
        try await PostgresEventStore(configuration: configuration).close()
        let s = "\"\(schema)\""
        if positions == .sequence {
            try await PostgresBench.withConnection(url: url) { connection in
                _ = try await PostgresBench.execute("CREATE SEQUENCE \(s).bench_positions", on: connection)
            }
        }
        let position = positions == .counter
            ? "WITH c AS (UPDATE \(s).head SET position = position + $1 RETURNING position - $1 AS base) "
            : "WITH c AS (SELECT nextval('\(s).bench_positions') - 1 AS base) "
        // With a sequence, one nextval per batch spaced by the batch size keeps batches contiguous.
        let sql = position + """
            INSERT INTO \(s).events (position, id, stream, revision, recorded_at, type, content_type, data)
            SELECT c.base * \(positions == .counter ? "1" : "$1") + b.ordinal, b.id, $2, $3 + b.ordinal,
                   (extract(epoch FROM statement_timestamp()) * 1000000)::bigint, $4, 'application/json', b.data
            FROM c, unnest($5::uuid[], $6::bytea[]) WITH ORDINALITY AS b(id, data, ordinal)
            """
        let perWriter = Swift.max(1, total / (writers * batchSize))
        var factory = BenchEvents()
        let work = (0..<writers).map { _ in (0..<perWriter).map { _ in factory.batch(batchSize) } }
        let payload = ByteBuffer(bytes: BenchEvents.payload)
        let start = Stopwatch.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (w, batches) in work.enumerated() {
                group.addTask {
                    try await PostgresBench.withConnection(url: url) { connection in
                        for (i, batch) in batches.enumerated() {
                            var binds = PostgresBindings()
                            binds.append(Int64(batchSize))
                            binds.append("raw-\(w)")
                            binds.append(Int64(i * batchSize))
                            binds.append(BenchEvents.type)
                            binds.append(batch.map(\.id))
                            binds.append([ByteBuffer](repeating: payload, count: batch.count))
                            _ = try await PostgresBench.execute(sql, binds: binds, on: connection)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Stopwatch.seconds(since: start)
        try await PostgresBench.withConnection(url: url) { connection in
            _ = try await PostgresBench.execute("DROP SCHEMA \(s) CASCADE", on: connection)
        }
        return Double(writers * perWriter * batchSize) / seconds
    }
}
