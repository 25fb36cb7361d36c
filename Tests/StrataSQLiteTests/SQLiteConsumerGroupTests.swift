import Foundation
import Strata
import StrataConsumers
import StrataSQLite
import StrataTestSupport
import Testing

/// Leases in `strata_leases`, schema version 2, and consumer groups whose members are processes
/// killed at random.
@Suite("SQLite: leases and consumer groups across processes", .serialized)
struct SQLiteConsumerGroupTests {
    @Test("SQLite leases: exclusive across connections, renewed with the same token, released and lapsed to the next owner")
    func leases() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-leases")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let first = try SQLiteCheckpointStore(path: dir + "/events.db")
        let second = try SQLiteCheckpointStore(path: dir + "/events.db")
        try await LeaseStoreChecks.run(first, second, timed: true)
        try await first.close()
        try await second.close()
    }

    @Test("a version-1 file (before leases) is migrated to version 2 on open, its events and checkpoints kept")
    func migratesVersion1() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-v1")
        defer { TemporaryDirectory.remove(dir) }
        let path = dir + "/events.db"
        let store = try SQLiteEventStore(path: path)
        try await store.append(to: "a", events: [EventData(type: "t", json: "{}"), EventData(type: "t", json: "{}")])
        let checkpoints = try SQLiteCheckpointStore(sharing: store)
        try await checkpoints.resetCheckpoint(for: "c", to: 2)
        try await checkpoints.close()
        try await store.close()
        // Make it a version-1 file, as Strata before leases wrote it.
        let raw = try SQLiteConnection(path: path)
        try raw.execute("DROP TABLE strata_leases; UPDATE strata_meta SET value = '1' WHERE key = 'schema_version'")
        raw.close()

        let reopened = try SQLiteEventStore(path: path)
        let again = try SQLiteCheckpointStore(sharing: reopened)
        #expect(try await reopened.readAll().collect().count == 2)
        #expect(try await again.checkpoint(for: "c") == 2)
        #expect(try await again.acquire("x", owner: "o", for: .seconds(5))?.token == 1, "the leases table exists")
        try await again.close()
        try await reopened.close()
        let check = try SQLiteConnection(path: path)
        let version = try check.prepare("SELECT value FROM strata_meta WHERE key = 'schema_version'")
        #expect(try version.step() && version.text(0) == "2")
        check.close()
    }

    static func seed() -> UInt64 {
        UInt64(ProcessInfo.processInfo.environment["STRATA_GROUP_SEED"] ?? "") ?? UInt64.random(in: 1 ... 1_000_000)
    }

    @Test("members in child processes killed at random, leases in strata_leases: every event handled, in order per stream, no checkpoint past an unhandled event")
    func killedMembersSQLiteLeases() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-group")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let path = dir + "/events.db"
        // The members' transactions hold the write lock back to back: this process's appends wait longer than 5 s on a loaded machine.
        let store = try SQLiteEventStore(path: path, configuration: SQLiteConfiguration(busyTimeoutMilliseconds: 60_000))
        let checkpoints = try SQLiteCheckpointStore(sharing: store)
        let seed = Self.seed()
        print("consumer group kill run, SQLite leases: seed \(seed) (STRATA_GROUP_SEED replays it)")
        var run = ConsumerGroupKillRun(store: "sqlite:" + path, checkpoints: "sqlite:" + path, seed: seed)
        run.pauseMilliseconds = 5
        let repeated = try await run
            .run(eventStore: store, group: "g", logs: dir + "/logs") { try await Self.partitionCheckpoints(checkpoints, count: 8) }
        print("consumer group kill run, SQLite leases: \(repeated) events handled again after kills and handovers")
        try await checkpoints.close()
        try await store.close()
    }

    @Test("members in child processes killed at random, leases by file lock: every event handled, in order per stream, no checkpoint past an unhandled event")
    func killedMembersFileLocks() async throws {
        let dir = TemporaryDirectory.freshPath("file-group")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let path = dir + "/events.db"
        let store = try SQLiteEventStore(path: path)
        let checkpoints = try FileCheckpointStore(directory: dir + "/checkpoints")
        let seed = Self.seed()
        print("consumer group kill run, file locks: seed \(seed) (STRATA_GROUP_SEED replays it)")
        let repeated = try await ConsumerGroupKillRun(store: "sqlite:" + path, checkpoints: "file:" + dir + "/checkpoints", seed: seed)
            .run(eventStore: store, group: "g", logs: dir + "/logs") { try await Self.partitionCheckpoints(checkpoints, count: 8) }
        print("consumer group kill run, file locks: \(repeated) events handled again after kills and handovers")
        try await store.close()
    }

    static func partitionCheckpoints(_ checkpoints: some CheckpointStore, count: Int) async throws -> [Int: UInt64] {
        var result: [Int: UInt64] = [:]
        for partition in 0 ..< count {
            result[partition] = try await checkpoints.checkpoint(for: ConsumerGroups.consumerName(group: "g", partition: partition))
        }
        return result
    }
}
