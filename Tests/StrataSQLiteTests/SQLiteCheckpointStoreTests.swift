import Foundation
import Strata
import StrataStorage
import StrataConsumers
import StrataSQLite
import StrataTestSupport
import Synchronization
import Testing

/// ``SQLiteCheckpointStore``: read models committed with their checkpoint, parking.
@Suite("SQLite checkpoint store")
struct SQLiteCheckpointStoreTests {
    struct Failure: Error, Equatable { let reason: String }

    /// A fresh database file with the event store, the checkpoint store and a read-model table.
    static func fixture(_ label: String) async throws -> (SQLiteEventStore, SQLiteCheckpointStore, String) {
        let dir = TemporaryDirectory.freshPath("sqlite-" + label)
        let store = try SQLiteEventStore(path: dir + "/events.db")
        let checkpoints = try SQLiteCheckpointStore(sharing: store)
        try await checkpoints.commit(consumer: "setup", through: 0) { tx in
            try tx.execute("CREATE TABLE totals(stream TEXT PRIMARY KEY, events INTEGER NOT NULL)")
        }
        try await checkpoints.resetCheckpoint(for: "setup", to: nil)
        return (store, checkpoints, dir)
    }

    static func totals(_ checkpoints: SQLiteCheckpointStore) async throws -> [String: Int64] {
        try await checkpoints.commit(consumer: "inspect", through: 0) { tx in
            var totals: [String: Int64] = [:]
            for row in try tx.query("SELECT stream, events FROM totals") { totals[row["stream"].text!] = row["events"].integer! }
            return totals
        }
    }

    @Test("a consumer's checkpoint is bound to the store it reads, per consumer, and the binding survives a reopen")
    func storeBinding() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("binding")
        defer { TemporaryDirectory.remove(dir) }
        let other = InMemoryEventStore()
        #expect(try await checkpoints.boundStore(consumer: "totals") == nil)
        try await checkpoints.bind(to: store, consumer: "totals")
        try await checkpoints.bind(to: other, consumer: "mirror")
        try await checkpoints.bind(to: store, consumer: "totals")  // the same store again: accepted
        await #expect(throws: StrataError.checkpointOfAnotherStore(consumer: "totals", recorded: try await store.identity().value,
                                                                   actual: try await other.identity().value)) {
            try await checkpoints.bind(to: other, consumer: "totals")
        }
        try await checkpoints.close()
        let reopened = try SQLiteCheckpointStore(path: dir + "/events.db")
        #expect(try await reopened.boundStore(consumer: "totals") == (try await store.identity()))
        #expect(try await reopened.boundStore(consumer: "mirror") == (try await other.identity()))
        try await reopened.close()
        try await store.close()
    }

    @Test("a read model written in commit's work and the checkpoint are stored together, and another connection sees both")
    func commitsReadModelWithCheckpoint() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("commit")
        defer { TemporaryDirectory.remove(dir) }
        #expect(try await checkpoints.checkpoint(for: "totals") == nil)
        let result = try await checkpoints.commit(consumer: "totals", through: 7) { tx in
            try tx.execute("INSERT INTO totals(stream, events) VALUES (?, ?)", [.text("order-1"), .integer(3)])
            await Task.yield() // the transaction stays open across suspension points
            let changed = try tx.execute("UPDATE totals SET events = events + ? WHERE stream = ?", [2, "order-1"])
            return changed
        }
        #expect(result == 1)
        #expect(try await checkpoints.checkpoint(for: "totals") == 7)
        try await checkpoints.close()

        // A second connection to the file sees the committed model and checkpoint.
        let reopened = try SQLiteCheckpointStore(path: dir + "/events.db")
        #expect(try await reopened.checkpoint(for: "totals") == 7)
        #expect(try await Self.totals(reopened) == ["order-1": 5])
        try await reopened.close()
        try await store.close()
    }

    @Test("a work that throws leaves neither its writes nor the checkpoint, and its error reaches the caller")
    func throwingWorkRollsBack() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("rollback")
        defer { TemporaryDirectory.remove(dir) }
        try await checkpoints.commit(consumer: "totals", through: 3) { tx in
            try tx.execute("INSERT INTO totals(stream, events) VALUES ('a', 1)")
        }
        await #expect(throws: Failure(reason: "handler failed")) {
            try await checkpoints.commit(consumer: "totals", through: 9) { tx in
                try tx.execute("UPDATE totals SET events = 100 WHERE stream = 'a'")
                try tx.execute("INSERT INTO totals(stream, events) VALUES ('b', 1)")
                throw Failure(reason: "handler failed")
            }
        }
        #expect(try await checkpoints.checkpoint(for: "totals") == 3)
        #expect(try await Self.totals(checkpoints) == ["a": 1])

        // A failing statement inside the work rolls back the same way.
        await #expect(throws: StrataError.self) {
            try await checkpoints.commit(consumer: "totals", through: 10) { tx in
                try tx.execute("INSERT INTO totals(stream, events) VALUES ('c', 1)")
                try tx.execute("INSERT INTO totals(stream, events) VALUES ('a', 2)") // primary key taken
            }
        }
        #expect(try await checkpoints.checkpoint(for: "totals") == 3)
        #expect(try await Self.totals(checkpoints) == ["a": 1])
        try await checkpoints.close()
        try await store.close()
    }

    @Test("the work cannot end the transaction, nor use the handle after commit returned")
    func transactionHandleLimits() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("limits")
        defer { TemporaryDirectory.remove(dir) }
        for statement in ["COMMIT", "  rollback", "END TRANSACTION", "BEGIN"] {
            await #expect(throws: StrataError.self, "\(statement)") {
                try await checkpoints.commit(consumer: "c", through: 1) { tx in
                    try tx.execute("INSERT INTO totals(stream, events) VALUES ('x', 1)")
                    try tx.execute(statement)
                }
            }
        }
        #expect(try await checkpoints.checkpoint(for: "c") == nil)
        #expect(try await Self.totals(checkpoints).isEmpty)
        // Savepoints nest inside the store's transaction.
        try await checkpoints.commit(consumer: "c", through: 2) { tx in
            try tx.execute("SAVEPOINT one")
            try tx.execute("INSERT INTO totals(stream, events) VALUES ('kept', 1)")
            try tx.execute("SAVEPOINT two")
            try tx.execute("INSERT INTO totals(stream, events) VALUES ('undone', 1)")
            try tx.execute("ROLLBACK TO two")
            try tx.execute("RELEASE one")
        }
        #expect(try await Self.totals(checkpoints) == ["kept": 1])
        // Two statements in one text, a wrong parameter count, a handle kept past its commit.
        await #expect(throws: StrataError.self) {
            try await checkpoints.commit(consumer: "c", through: 3) { tx in try tx.execute("SELECT 1; SELECT 2") }
        }
        await #expect(throws: StrataError.self) {
            try await checkpoints.commit(consumer: "c", through: 3) { tx in try tx.execute("SELECT ?", []) }
        }
        var escaped: SQLiteTransaction?
        try await checkpoints.commit(consumer: "c", through: 4) { tx in escaped = tx }
        #expect(throws: StrataError.self) { try escaped?.query("SELECT 1") }
        #expect(try await checkpoints.checkpoint(for: "c") == 4)
        try await checkpoints.close()
        await #expect(throws: StrataError.storeClosed(reason: "close() was called")) { try await checkpoints.checkpoint(for: "c") }
        try await store.close()
    }

    @Test("a consumer commits one transaction per event while appends go on; model and checkpoint match the log")
    func consumerBesideAppends() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("consumer")
        defer { TemporaryDirectory.remove(dir) }
        let total = 300
        let consumer = Task {
            for try await event in store.subscribeToAll(from: .start).events {
                try await checkpoints.commit(consumer: "totals", through: event.position) { tx in
                    try tx.execute("INSERT INTO totals(stream, events) VALUES (?, 1) ON CONFLICT(stream) DO UPDATE SET events = events + 1",
                                   [.text(event.stream)])
                }
                if event.position == UInt64(total) { return }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<3 {
                group.addTask {
                    for i in 0..<(total / 3) {
                        try await store.append(to: "s-\(writer)", event: EventData(type: "e", json: #"{"i":\#(i)}"#))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await Wait.within(.seconds(30), "the consumer to reach position \(total)") { try await consumer.value }
        #expect(try await checkpoints.checkpoint(for: "totals") == UInt64(total))
        #expect(try await Self.totals(checkpoints) == ["s-0": 100, "s-1": 100, "s-2": 100])
        try await checkpoints.close()
        try await store.close()
    }

    @Test("an append that waits past the busy timeout for a held checkpoint transaction fails with io, stores nothing, and the store goes on")
    func appendWaitsForLock() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-busy")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = SQLiteConfiguration(busyTimeoutMilliseconds: 200)
        let store = try SQLiteEventStore(path: dir + "/events.db", configuration: configuration)
        let checkpoints = try SQLiteCheckpointStore(sharing: store)
        let (lockHeld, announceLockHeld) = AsyncStream<Void>.makeStream()
        let (releaseSignal, releaseLock) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await checkpoints.commit(consumer: "slow", through: 1) { tx in
                try tx.execute("CREATE TABLE slow(n INTEGER)")
                announceLockHeld.yield()
                for await _ in releaseSignal { break } // hold the write lock until the test says so
            }
        }
        for await _ in lockHeld { break }
        do {
            try await store.append(to: "s", event: EventData(type: "e", json: "{}"))
            Issue.record("the append succeeded while another connection held the write lock")
        } catch let error as StrataError {
            guard case .io(_, _, let reason) = error else { throw error }
            #expect(reason.contains("locked"), "\(reason)")
        }
        releaseLock.yield()
        try await holder.value
        #expect(try await checkpoints.checkpoint(for: "slow") == 1)
        #expect(try await store.headPosition() == 0)
        let result = try await store.append(to: "s", event: EventData(type: "e", json: "{}"))
        #expect(result.firstPosition == 1 && result.firstRevision == 1)
        try await checkpoints.close()
        try await store.close()
    }

    @Test("reset sets or forgets a checkpoint")
    func reset() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("reset")
        defer { TemporaryDirectory.remove(dir) }
        try await checkpoints.resetCheckpoint(for: "p", to: 42)
        #expect(try await checkpoints.checkpoint(for: "p") == 42)
        try await checkpoints.resetCheckpoint(for: "p", to: 5)
        #expect(try await checkpoints.checkpoint(for: "p") == 5)
        try await checkpoints.resetCheckpoint(for: "p", to: nil)
        #expect(try await checkpoints.checkpoint(for: "p") == nil)
        try await checkpoints.close()
        try await store.close()
    }

    @Test("parked events page by position per consumer; parking twice keeps the newer; unpark removes one")
    func parkedPaging() async throws {
        let (store, checkpoints, dir) = try await Self.fixture("parked")
        defer { TemporaryDirectory.remove(dir) }
        var rng = SplitMix64(seed: 11)
        let expected: [UInt64] = (1...25).map { UInt64($0 * 10) }
        let positions = expected.shuffled(using: &rng)
        for position in positions {
            try await checkpoints.park(ParkedEvent(consumer: "a", position: position, stream: "s-\(position)", revision: position / 10,
                                                   type: "t", error: "boom", attempts: 3, parkedAtMicroseconds: 1_000))
        }
        for position: UInt64 in [15, 25] {
            try await checkpoints.park(ParkedEvent(consumer: "b", position: position, stream: "other", revision: 1, type: "t",
                                                   error: "other consumer", attempts: 1))
        }
        var pages: [[UInt64]] = []
        var after: UInt64?
        while true {
            let page = try await checkpoints.parked(consumer: "a", after: after, limit: 10)
            if page.isEmpty { break }
            pages.append(page.map(\.position))
            after = page.last!.position
            #expect(page.allSatisfy { $0.consumer == "a" && $0.stream == "s-\($0.position)" && $0.revision == $0.position / 10 })
        }
        #expect(pages.map(\.count) == [10, 10, 5])
        let all: [UInt64] = pages.flatMap { $0 }
        #expect(all == expected)
        #expect(try await checkpoints.parked(consumer: "a", after: 245, limit: 10).map(\.position) == [250])
        #expect(try await checkpoints.parked(consumer: "a", after: nil, limit: 0).isEmpty)
        #expect(try await checkpoints.parked(consumer: "b", after: nil, limit: 10).map(\.position) == [15, 25])

        let newer = ParkedEvent(consumer: "a", position: 30, stream: "s-30", revision: 3, type: "t", error: "again", attempts: 5,
                                parkedAtMicroseconds: 2_000)
        try await checkpoints.park(newer)
        let again = try await checkpoints.parked(consumer: "a", after: 20, limit: 1)
        #expect(again == [newer])

        try await checkpoints.unpark(consumer: "a", position: 30)
        try await checkpoints.unpark(consumer: "a", position: 31) // not parked: nothing happens
        #expect(try await checkpoints.parked(consumer: "a", after: 20, limit: 2).map(\.position) == [40, 50])
        #expect(try await checkpoints.parked(consumer: "b", after: nil, limit: 10).count == 2)
        try await checkpoints.close()
        try await store.close()
    }
}
