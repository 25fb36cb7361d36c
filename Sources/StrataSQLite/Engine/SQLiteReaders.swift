import Foundation
import Strata
import Synchronization

/// The read side of a ``SQLiteEventStore``: a small pool of connections (WAL lets them read
/// while the writer writes), each borrowed by one read at a time. Reads need no explicit
/// transaction: an event row never changes once committed, so a page read after the head or a
/// stream row is consistent with it.
final class SQLiteReaders: Sendable {
    /// Idle connections kept for reuse; more are opened when many reads run at once.
    static let maxIdle = 4

    private struct Pool {
        var idle: [SQLiteConnection] = []
        var closed = false
    }

    private let path: String
    private let configuration: SQLiteConfiguration
    private let pool = Mutex(Pool())
    /// The names of stream ids, shared by every connection.
    let names = StreamNames()

    init(path: String, configuration: SQLiteConfiguration) {
        self.path = path
        self.configuration = configuration
    }

    /// Runs `body` on a pooled connection, with SQLite failures reported as ``StrataError``.
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        let taken: SQLiteConnection?? = pool.withLock { p in p.closed ? .none : .some(p.idle.popLast()) }
        guard let reused = taken else { throw StrataError.storeClosed(reason: "close() was called") }
        let db = try reused ?? open()
        defer {
            let keep = pool.withLock { p in
                guard !p.closed, p.idle.count < SQLiteReaders.maxIdle else { return false }
                p.idle.append(db)
                return true
            }
            if !keep { db.close() }
        }
        return try SQLiteError.mapped { try body(db) }
    }

    private func open() throws -> SQLiteConnection {
        try SQLiteError.mapped {
            let db = try SQLiteConnection(path: path)
            db.setBusyTimeout(milliseconds: configuration.busyTimeoutMilliseconds)
            try db.execute("PRAGMA query_only=1; PRAGMA cache_size=-\(configuration.cacheKiB)")
            return db
        }
    }

    /// Closes the idle connections; borrowed ones are closed when they come back.
    func close() {
        let idle = pool.withLock { p in
            p.closed = true
            defer { p.idle = [] }
            return p.idle
        }
        for db in idle { db.close() }
    }

    // MARK: - Reads

    static let eventColumns = "position, stream_id, revision, id, recorded_at, type, content_type, metadata, data"

    /// The head: the last position ever appended. Usually the largest stored one; after a
    /// scavenge removed the newest events, the floor it recorded in `strata_meta` (positions are
    /// never reused).
    static func head(_ db: SQLiteConnection) throws -> UInt64 {
        UInt64(bitPattern: try db.integer("""
            SELECT MAX(COALESCE((SELECT MAX(position) FROM strata_events), 0),
                       COALESCE((SELECT CAST(value AS INTEGER) FROM strata_meta WHERE key = 'position_floor'), 0))
            """))
    }

    func head() throws -> UInt64 { try read(SQLiteReaders.head) }

    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) throws -> StreamPage {
        let now = currentMicroseconds()
        return try read { db in
            guard let row = try StreamRow.load(stream, on: db) else { throw StrataError.streamNotFound(stream) }
            if row.tombstoned { throw StrataError.streamTombstoned(stream) }
            if !row.exists { throw StrataError.streamNotFound(stream) }
            let visibility = row.visibility(now: now)
            guard maxCount > 0, let range = visibility.revisions(from: origin, direction: direction) else {
                return StreamPage(events: [], next: nil)
            }
            let order = direction == .forward ? "" : " DESC"
            let query = try db.cached("""
                SELECT \(SQLiteReaders.eventColumns) FROM strata_events WHERE stream_id = ? AND revision BETWEEN ? AND ? ORDER BY revision\(order)
                """)
            defer { query.reset() }
            query.bind(1, row.id)
            query.bind(2, range.lowerBound)
            query.bind(3, range.upperBound)
            var events: [RecordedEvent] = []
            events.reserveCapacity(Swift.min(maxCount, Int(range.upperBound - range.lowerBound) + 1))
            var next: UInt64?
            while try query.step() {
                if events.count == maxCount {
                    next = query.uint64(2)
                    break
                }
                if visibility.admits(recordedAtMicros: query.int64(4)) {
                    events.append(try SQLiteReaders.event(query, stream: stream, path: db.path))
                }
            }
            return StreamPage(events: events, next: next)
        }
    }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) throws -> AllPage {
        try read { db in
            let head = try SQLiteReaders.head(db)
            let cursor = try db.cached(direction == .forward
                ? "SELECT \(SQLiteReaders.eventColumns) FROM strata_events WHERE position BETWEEN ? AND ? ORDER BY position"
                : "SELECT \(SQLiteReaders.eventColumns) FROM strata_events WHERE position BETWEEN ? AND ? ORDER BY position DESC")
            defer { cursor.reset() }
            return try AllPageScan.walk(head: head, firstPosition: 1, origin: origin, direction: direction, filter: filter,
                                        maxCount: maxCount, start: { from in
                // One cursor serves the whole page; positions a scavenge removed are simply absent.
                cursor.bind(1, direction == .forward ? from : 1)
                cursor.bind(2, direction == .forward ? head : from)
            }) {
                guard try cursor.step() else { return nil }
                let position = cursor.uint64(0)
                let stream = try names.name(of: cursor.int64(1), on: db)
                if !filter.isEmpty {
                    let type = cursor.text(5)
                    if !filter.matches(stream: stream, type: type) {
                        // The walk drops it: skip decoding the payload.
                        return RecordedEvent(id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), stream: stream, revision: 0,
                                             position: position, recordedAtMicroseconds: 0, type: type, data: Data(), metadata: nil)
                    }
                }
                return try SQLiteReaders.event(cursor, stream: stream, path: db.path)
            }
        }
    }

    func streamInfo(_ stream: String) throws -> StreamInfo {
        let now = currentMicroseconds()
        return try read { db in
            guard let row = try StreamRow.load(stream, on: db) else {
                return .unknown(stream)
            }
            var count = 0
            let visibility = row.visibility(now: now)
            if row.exists, let range = visibility.revisions(from: .start, direction: .forward) {
                count = Int(try db.integer("""
                    SELECT COUNT(*) FROM strata_events WHERE stream_id = ? AND revision BETWEEN ? AND ? AND recorded_at >= ?
                    """) { s in
                    s.bind(1, row.id)
                    s.bind(2, range.lowerBound)
                    s.bind(3, range.upperBound)
                    s.bind(4, visibility.notBeforeMicros)
                })
            }
            return StreamInfo(stream: stream, lastRevision: row.lastRevision, deletedThrough: row.deletedThrough,
                              isTombstoned: row.tombstoned, metadata: row.metadata, eventCount: count)
        }
    }

    func listStreamsPage(prefix: String, after: String?, maxCount: Int) throws -> [String] {
        guard maxCount > 0 else { return [] }
        return try read { db in
            // TEXT compares with memcmp on UTF-8 (the BINARY collation): the order of StreamOrder.
            let afterWins = after.map { !StreamOrder.less($0, prefix) } ?? false
            let query = try db.cached(afterWins
                ? "SELECT name, last_revision, deleted_through, tombstoned FROM strata_streams WHERE name > ? ORDER BY name"
                : "SELECT name, last_revision, deleted_through, tombstoned FROM strata_streams WHERE name >= ? ORDER BY name")
            defer { query.reset() }
            query.bind(1, afterWins ? after! : prefix)
            var names: [String] = []
            while names.count < maxCount, try query.step() {
                let name = query.text(0)
                if !name.utf8.starts(with: prefix.utf8) { break }
                let exists = query.int64(3) == 0 && query.uint64(1) > query.uint64(2)
                if exists { names.append(name) }
            }
            return names
        }
    }

    func stats() throws -> (head: UInt64, streams: Int) {
        try read { db in
            (try SQLiteReaders.head(db), Int(try db.integer("SELECT COUNT(*) FROM strata_streams")))
        }
    }

    /// Decodes the ``eventColumns`` of the current row.
    static func event(_ q: SQLiteStatement, stream: String, path: String) throws -> RecordedEvent {
        guard let id = q.uuid(3) else {
            throw StrataError.corruption(path: path, offset: q.int64(0), reason: "the event at position \(q.int64(0)) has an id that is not 16 bytes")
        }
        return RecordedEvent(id: id, stream: stream, revision: q.uint64(2), position: q.uint64(0), recordedAtMicroseconds: q.int64(4),
                             type: q.text(5), contentType: q.contentType(6), data: q.data(8), metadata: q.optionalData(7))
    }
}

extension SQLiteStatement {
    /// A content-type column; the JSON default is shared instead of decoded per event.
    func contentType(_ column: Int32) -> ContentType {
        if textEquals(column, "application/json") { return .json }
        return ContentType(text(column))
    }
}
