import Foundation
import Strata
import StrataSQLite

/// The same appends and reads on SQLite through the C API, written by hand into the schema the
/// SQLite backend uses (`SQLiteSchema`, docs/SQLITE.md): WAL, prepared statements, one
/// transaction per batch that reads the stream's row, inserts the batch and moves the stream's
/// last revision. No idempotency check, no group commit, no planner: the floor a backend on
/// this schema can approach. Reads build the same `RecordedEvent` values a Strata read returns,
/// so the comparison includes that cost on both sides.
enum SQLiteWorkloads {
    /// A database with the backend's schema and pragmas; `synchronous` FULL (an fsync per
    /// commit) for `fsync`, OFF for `none` (what the SQLite backend uses for the same durability).
    static func open(_ path: String, durability: BenchDurability) throws -> SQLiteConnection {
        let db = try SQLiteConnection(path: path)
        try SQLiteSchema.prepare(db, configuration: SQLiteBenchBackend.configuration(durability))
        return db
    }

    /// Appends `total` events in batches of `batchSize` rotating over 1,000 streams (as the
    /// Strata workload does). Returns events per second.
    static func append(batchSize: Int, total: Int, durability: BenchDurability, in parent: String) throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "sqlite-append-batch\(batchSize)-\(durability.rawValue)")
        defer { scratch.remove() }
        let streams = BenchEvents.streamNames("order", count: AppendWorkloads.streamCount)
        var factory = BenchEvents()
        let batches = (0..<Swift.max(1, total / batchSize)).map { _ in factory.batch(batchSize) }
        let db = try open(scratch.file("events.db"), durability: durability)
        let writer = try BatchWriter(db)
        let start = Stopwatch.now()
        for (i, batch) in batches.enumerated() {
            try writer.append(batch, to: streams[i % streams.count])
        }
        return Double(batches.count * batchSize) / Stopwatch.seconds(since: start)
    }

    /// Fills a database like the Strata read store, reopens it, and reads every row in position
    /// order. Returns events per second.
    static func readAll(events: Int, streams: [String], in parent: String) throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "sqlite-read")
        defer { scratch.remove() }
        let path = scratch.file("events.db")
        do {
            let db = try open(path, durability: .none)
            let writer = try BatchWriter(db)
            var factory = BenchEvents()
            for i in 0..<(events / 100) {
                try writer.append(factory.batch(100), to: streams[i % streams.count])
            }
        }
        let db = try open(path, durability: .none)
        let select = try db.prepare("""
            SELECT e.position, s.name, e.revision, e.id, e.recorded_at, e.type, e.content_type, e.metadata, e.data
            FROM strata_events e JOIN strata_streams s ON s.id = e.stream_id ORDER BY e.position
            """)
        var count = 0
        var last: RecordedEvent?
        let start = Stopwatch.now()
        while try select.step() {
            last = RecordedEvent(id: select.uuid(3) ?? UUID(), stream: select.text(1), revision: select.uint64(2),
                                 position: select.uint64(0), recordedAtMicroseconds: select.int64(4), type: select.text(5),
                                 contentType: ContentType(select.text(6)), data: select.data(8), metadata: select.optionalData(7))
            count += 1
        }
        let seconds = Stopwatch.seconds(since: start)
        _ = last
        try ReadWorkloads.check(count, events / 100 * 100, "sqlite.read.all")
        return Double(count) / seconds
    }

    /// Appends one batch to one stream in one transaction, by hand.
    final class BatchWriter {
        let begin, commit, streamRow, newStream, insert, moveRevision: SQLiteStatement
        let db: SQLiteConnection

        init(_ db: SQLiteConnection) throws {
            self.db = db
            begin = try db.prepare("BEGIN IMMEDIATE")
            commit = try db.prepare("COMMIT")
            streamRow = try db.prepare("SELECT id, last_revision FROM strata_streams WHERE name = ?")
            newStream = try db.prepare("INSERT INTO strata_streams(name) VALUES (?)")
            insert = try db.prepare(SQLiteSchema.insertEvent)
            moveRevision = try db.prepare("UPDATE strata_streams SET last_revision = ? WHERE id = ?")
        }

        func append(_ events: [EventData], to stream: String) throws {
            try begin.step()
            begin.reset()
            streamRow.bind(1, stream)
            var streamID: Int64
            var revision: Int64 = 0
            if try streamRow.step() {
                streamID = streamRow.int64(0)
                revision = streamRow.int64(1)
                streamRow.reset()
            } else {
                streamRow.reset()
                newStream.bind(1, stream)
                try newStream.step()
                newStream.reset()
                streamID = db.lastInsertRowID
            }
            let now = currentMicroseconds()
            for event in events {
                revision += 1
                insert.bindNull(1) // SQLite assigns the next position
                insert.bind(2, streamID)
                insert.bind(3, revision)
                insert.bind(4, event.id)
                insert.bind(5, now)
                insert.bind(6, event.type)
                insert.bind(7, event.contentType.rawValue)
                insert.bind(8, event.metadata)
                insert.bind(9, event.data)
                try insert.step()
                insert.reset()
            }
            moveRevision.bind(1, revision)
            moveRevision.bind(2, streamID)
            try moveRevision.step()
            moveRevision.reset()
            try commit.step()
            commit.reset()
        }
    }
}
