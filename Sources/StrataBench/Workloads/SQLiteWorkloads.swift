import Foundation
import Strata

/// The same appends and reads on SQLite through the C API: WAL, the events table with a global
/// autoincrement position and UNIQUE(stream, revision), prepared statements, one transaction
/// per batch that reads the stream's last revision and inserts the batch. Reads build the same
/// `RecordedEvent` values a Strata read returns, so the comparison includes that cost on both sides.
enum SQLiteWorkloads {
    static let schema = """
        CREATE TABLE IF NOT EXISTS events(
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            stream TEXT, revision INTEGER, id BLOB, type TEXT, data BLOB, metadata BLOB, recorded_at INTEGER,
            UNIQUE(stream, revision));
        """

    /// A database in WAL mode with `synchronous` FULL (an fsync per commit) or OFF.
    static func open(_ path: String, durability: BenchDurability) throws -> SQLiteConnection {
        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL;")
        try db.execute("PRAGMA synchronous=\(durability == .fsync ? "FULL" : "OFF");")
        try db.execute(schema)
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
        let select = try db.prepare("SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM events ORDER BY position")
        var count = 0
        var last: RecordedEvent?
        let start = Stopwatch.now()
        while try select.step() {
            last = RecordedEvent(id: select.uuid(3), stream: select.text(1), revision: UInt64(select.int64(2)),
                                 position: UInt64(select.int64(0)), recordedAtMicroseconds: select.int64(7),
                                 type: select.text(4), data: select.data(5) ?? Data(), metadata: select.data(6))
            count += 1
        }
        let seconds = Stopwatch.seconds(since: start)
        _ = last
        try ReadWorkloads.check(count, events / 100 * 100, "sqlite.read.all")
        return Double(count) / seconds
    }

    /// Appends one batch to one stream in one transaction, as a SQLite backend would.
    final class BatchWriter {
        let begin, commit, lastRevision, insert: SQLiteStatement

        init(_ db: SQLiteConnection) throws {
            begin = try db.prepare("BEGIN IMMEDIATE")
            commit = try db.prepare("COMMIT")
            lastRevision = try db.prepare("SELECT COALESCE(MAX(revision), 0) FROM events WHERE stream = ?")
            insert = try db.prepare("INSERT INTO events(stream, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        }

        func append(_ events: [EventData], to stream: String) throws {
            try begin.step()
            begin.reset()
            lastRevision.bind(1, stream)
            try lastRevision.step()
            var revision = lastRevision.int64(0)
            lastRevision.reset()
            let now = currentMicroseconds()
            for event in events {
                revision += 1
                insert.bind(1, stream)
                insert.bind(2, revision)
                insert.bind(3, event.id)
                insert.bind(4, event.type)
                insert.bind(5, event.data)
                if let metadata = event.metadata { insert.bind(6, metadata) } else { insert.bindNull(6) }
                insert.bind(7, now)
                try insert.step()
                insert.reset()
            }
            try commit.step()
            commit.reset()
        }
    }
}
