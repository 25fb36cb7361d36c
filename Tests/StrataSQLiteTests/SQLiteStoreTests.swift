import CSQLite
import Foundation
import Strata
import StrataSQLite
import StrataTestSupport
import Synchronization
import Testing

/// What the conformance suite does not cover: the file, its schema version, group commit.
@Suite("SQLite event store")
struct SQLiteStoreTests {
    @Test("events, stream state and metadata survive closing and reopening the file")
    func reopen() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-reopen")
        defer { TemporaryDirectory.remove(dir) }
        let path = dir + "/nested/events.db"
        let store = try SQLiteEventStore(path: path)
        let binary = EventData(type: "blob", data: Data([0, 1, 2, 255]), contentType: .binary, metadata: Data())
        try await store.append(to: "a", events: [EventData(type: "x", json: #"{"n":1}"#, metadata: #"{"tags":["t"]}"#), binary])
        try await store.append(to: "b", event: EventData(type: "empty", data: Data()))
        try await store.deleteStream("b", expectedRevision: .exact(1), mode: .soft)
        try await store.deleteStream("c", expectedRevision: .any, mode: .tombstone)
        try await store.setStreamMetadata("a", StreamMetadata(maxCount: 5, maxAge: 1.5, truncateBefore: 1, custom: Data(#"{"k":true}"#.utf8)))
        let before = try await store.readAll().collect()
        let identity = try await store.identity()
        try await store.close()

        let reopened = try SQLiteEventStore(path: path)
        #expect(try await reopened.identity() == identity, "the identity survives a reopen")
        #expect(UUID(uuidString: identity.value) != nil)
        #expect(try await reopened.readAll().collect() == before)
        #expect(before[1].metadata == Data() && before[1].contentType == .binary && before[1].data == Data([0, 1, 2, 255]))
        #expect(before[2].data == Data() && before[2].metadata == nil)
        #expect(try await reopened.streamInfo("b").isDeleted)
        #expect(try await reopened.streamInfo("c").isTombstoned)
        #expect(try await reopened.streamInfo("a").metadata == StreamMetadata(maxCount: 5, maxAge: 1.5, truncateBefore: 1,
                                                                               custom: Data(#"{"k":true}"#.utf8)))
        let result = try await reopened.append(to: "b", expectedRevision: .noStream, event: EventData(type: "again", json: "{}"))
        #expect(result.firstRevision == 2 && result.firstPosition == 4)
        let stats = try await reopened.stats()
        #expect(stats.headPosition == 4 && stats.streamCount == 3 && stats.bytesOnDisk > 0)
        #expect(stats.details["backend"] == "sqlite" && stats.details["schema"] == "v2")
        try await reopened.close()
    }

    @Test("a file written by a newer schema version is refused at open with unsupportedFormat, and left unchanged")
    func newerSchemaRefused() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-newer")
        defer { TemporaryDirectory.remove(dir) }
        let path = dir + "/events.db"
        let store = try SQLiteEventStore(path: path)
        try await store.append(to: "s", event: EventData(type: "e", json: "{}"))
        try await store.close()
        try Self.sql(path, "UPDATE strata_meta SET value = '3' WHERE key = 'schema_version'")
        #expect(throws: StrataError.unsupportedFormat(path: path, found: "Strata SQLite schema v3", supported: "Strata SQLite schema v1 or v2")) {
            _ = try SQLiteEventStore(path: path)
        }
        #expect(throws: StrataError.self) { _ = try SQLiteCheckpointStore(path: path) }
        try Self.sql(path, "UPDATE strata_meta SET value = '2' WHERE key = 'schema_version'")
        let again = try SQLiteEventStore(path: path)
        #expect(try await again.headPosition() == 1)
        try await again.close()
    }

    @Test("a file that is not a SQLite database is refused with unsupportedFormat and not overwritten")
    func notADatabase() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-notdb")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/events.db"
        let text = Data(String(repeating: "not a database\n", count: 100).utf8)
        try text.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteEventStore(path: path)
        } throws: { error in
            guard case .unsupportedFormat(let p, let found, _) = error as? StrataError else { return false }
            return p == path && found == "not a SQLite database"
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
    }

    @Test("a file with other tables gets Strata's tables beside them")
    func sharedFile() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-shared")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/app.db"
        try Self.sql(path, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('ada')")
        let store = try SQLiteEventStore(path: path)
        try await store.append(to: "s", event: EventData(type: "e", json: "{}"))
        try await store.close()
        #expect(try Self.sqlInteger(path, "SELECT COUNT(*) FROM customers") == 1)
    }

    @Test("a configuration out of range fails with invalidArgument before the file is created")
    func badConfiguration() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-config")
        defer { TemporaryDirectory.remove(dir) }
        for configuration in [SQLiteConfiguration(busyTimeoutMilliseconds: -1), SQLiteConfiguration(pollIntervalMilliseconds: 0),
                              SQLiteConfiguration(maxBatchEvents: 0)] {
            #expect(throws: StrataError.self) { _ = try SQLiteEventStore(path: dir + "/events.db", configuration: configuration) }
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/events.db"))
    }

    @Test("concurrent appenders share transactions; a bad request in a shared transaction fails alone")
    func groupCommit() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-group")
        defer { TemporaryDirectory.remove(dir) }
        // FULL makes each commit wait for the disk, so appends queue up behind it.
        let store = try SQLiteEventStore(path: dir + "/events.db", configuration: SQLiteConfiguration(synchronous: .full))
        let taken = EventData(type: "e", json: "{}")
        try await store.append(to: "taken", event: taken)
        let appenders = 64
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<AppendResult, StrataError>).self) { group in
            for i in 0..<appenders {
                group.addTask {
                    do {
                        switch i % 8 {
                        case 3: // a stale expectation
                            return (i, .success(try await store.append(to: "s-\(i)", expectedRevision: .exact(5), event: EventData(type: "e", json: "{}"))))
                        case 5: // an id stored in another stream
                            return (i, .success(try await store.append(to: "s-\(i)", event: taken)))
                        default:
                            return (i, .success(try await store.append(to: "s-\(i)", events: [EventData(type: "e", json: "{}"), EventData(type: "f", json: "{}")])))
                        }
                    } catch let error as StrataError {
                        return (i, .failure(error))
                    }
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        var stored = 1
        for i in 0..<appenders {
            switch (i % 8, outcomes[i]!) {
            case (3, .failure(let error)):
                #expect(error == .wrongExpectedRevision(stream: "s-\(i)", expected: .exact(5), actual: nil))
            case (5, .failure(let error)):
                #expect(error == .eventIdReused(id: taken.id.uuidString, stream: "taken"))
            case (let kind, .success(let result)) where kind != 3 && kind != 5:
                #expect(result.lastPosition == result.firstPosition + 1)
                stored += 2
            case (_, let outcome):
                Issue.record("appender \(i): unexpected \(outcome)")
            }
        }
        let events = try await store.readAll().collect()
        #expect(events.count == stored)
        #expect(events.map(\.position) == (1...UInt64(stored)).map { $0 })
        let stats = try await store.stats()
        let transactions = Int(stats.details["transactions"] ?? "") ?? 0
        #expect(transactions < appenders, "\(appenders + 1) appends took \(transactions) transactions")
        try await store.close()
    }

    // MARK: - Helpers

    static func sql(_ path: String, _ statements: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw StrataError.io(path: path, operation: "open", reason: "test") }
        defer { sqlite3_close(db) }
        guard sqlite3_exec(db, statements, nil, nil, nil) == SQLITE_OK else {
            throw StrataError.io(path: path, operation: statements, reason: String(cString: sqlite3_errmsg(db)))
        }
    }

    static func sqlInteger(_ path: String, _ query: String) throws -> Int64 {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw StrataError.io(path: path, operation: "open", reason: "test") }
        defer { sqlite3_close(db) }
        var statement: OpaquePointer?
        sqlite3_prepare_v2(db, query, -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw StrataError.io(path: path, operation: query, reason: String(cString: sqlite3_errmsg(db))) }
        return sqlite3_column_int64(statement, 0)
    }
}
