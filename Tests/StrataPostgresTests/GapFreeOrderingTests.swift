import Foundation
import PostgresNIO
import Strata
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// A one-shot latch a test opens when it chooses: no sleeps, the test controls the timing.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// The heart of the backend (docs/POSTGRES.md, "Gap-free $all"): positions become visible in
/// position order, whatever the order in which writers start and finish.
@Suite("gap-free $all on PostgreSQL", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct GapFreeOrderingTests {
    /// Collects a subscription's events in its own task.
    final class Collector: Sendable {
        let events = Mutex<[RecordedEvent]>([])
        let failure = Mutex<String?>(nil)
        /// Whether `.caughtUp` arrived: the subscription is live.
        let caughtUp = Mutex(false)
        private let task = Mutex<Task<Void, Never>?>(nil)

        init(_ subscription: Subscription) {
            let task = Task { [self] in
                do {
                    for try await message in subscription {
                        switch message {
                        case .event(let event): events.withLock { $0.append(event) }
                        case .caughtUp: caughtUp.withLock { $0 = true }
                        case .checkpoint: break
                        }
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
            self.task.withLock { $0 = task }
        }

        var count: Int { events.withLock { $0.count } }

        func waitFor(_ count: Int, _ what: String) async throws {
            try await Wait.until(what, timeout: .seconds(60)) {
                let failed = failure.withLock { $0 }
                try #require(failed == nil, "\(what): the subscription failed: \(failed ?? "")")
                return self.count >= count
            }
        }

        func stop() async {
            let task = task.withLock { $0 }
            task?.cancel()
            await task?.value
        }
    }

    /// Whether a backend of the test server waits for a lock in a statement that updates this
    /// schema's counter row.
    static func writerWaitsForCounter(schema: String) async throws -> Bool {
        try await PostgresTest.withConnection { connection in
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: """
                SELECT count(*) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND position($1 in query) > 0
                """, binds: try binds("UPDATE \"\(schema)\".head")), logger: connection.logger)
            return try rows[0].decode(Int64.self) > 0
        }
    }

    @Test("writer A holds its transaction open after taking its positions; writer B, started later, waits at the counter; a subscriber sees A's then B's events with no skip")
    func heldTransactionKeepsOrder() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("race")
        let gate = Gate()
        let taken = Mutex<ClosedRange<UInt64>?>(nil)
        let holds = Atomic<Int>(0)
        // Writer A: a store whose first transaction after the seed pauses before COMMIT.
        let storeA = try await PostgresEventStore(configuration: try PostgresTest.configuration(schema: schema), hooks: AppendHooks { positions in
            guard holds.add(1, ordering: .relaxed).newValue == 1 else { return }
            taken.withLock { $0 = positions }
            await gate.wait()
        })
        // Writer B and the reader: another store on the same schema, as another process would be.
        let storeB = try await PostgresTest.openStore(schema: schema)
        do {
            let seed = try await storeB.append(to: "seed", events: PostgresTest.events(3))
            #expect(seed.lastPosition == 3)
            let subscriber = Collector(storeB.subscribeToAll(from: .start))
            try await subscriber.waitFor(3, "the seed events")

            // A takes positions 4…5 and holds its transaction open.
            let appendA = Task { try await storeA.append(to: "writer-a", events: PostgresTest.events(2, writer: "a")) }
            try await Wait.until("writer A to take its positions") { taken.withLock { $0 } != nil }
            #expect(taken.withLock { $0 } == 4...5)

            // B starts now and gets as far as the counter, where it waits for A.
            let appendB = Task { try await storeB.append(to: "writer-b", events: PostgresTest.events(1, writer: "b")) }
            try await Wait.until("writer B to wait for the counter row") { try await Self.writerWaitsForCounter(schema: schema) }

            // Meanwhile readers see neither: the head is still 3, nothing past it is readable.
            #expect(try await storeB.headPosition() == 3)
            #expect(try await storeB.readAll().collect().map(\.position) == [1, 2, 3])
            #expect(try await storeB.readAll(from: .at(4)).collect().isEmpty)
            #expect(subscriber.count == 3, "the subscriber must not see anything while position 4 is not committed")

            // A commits; then B can.
            gate.open()
            let resultA = try await appendA.value
            let resultB = try await appendB.value
            #expect(resultA.firstPosition == 4 && resultA.lastPosition == 5)
            #expect(resultB.firstPosition == 6 && resultB.lastPosition == 6)

            try await subscriber.waitFor(6, "A's and B's events")
            let seen = subscriber.events.withLock { $0 }
            #expect(seen.map(\.position) == [1, 2, 3, 4, 5, 6])
            #expect(seen.map(\.stream) == ["seed", "seed", "seed", "writer-a", "writer-a", "writer-b"])
            PostgresTest.expectContiguous(seen)
            await subscriber.stop()
        } catch {
            gate.open()
            try? await storeA.close()
            try? await storeB.close()
            await tracker.dropAll()
            throw error
        }
        try await storeA.close()
        try await storeB.close()
        await tracker.dropAll()
    }

    @Test("a transaction that took its positions and rolled back leaves no gap: the next append gets the same positions")
    func rolledBackTransactionLeavesNoGap() async throws {
        struct Abort: Error {}
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("rollback")
        let taken = Mutex<[ClosedRange<UInt64>]>([])
        let store = try await PostgresEventStore(configuration: try PostgresTest.configuration(schema: schema), hooks: AppendHooks { positions in
            let first = taken.withLock { t -> Bool in t.append(positions); return t.count == 1 }
            if first { throw Abort() }
        })
        let reader = try await PostgresTest.openStore(schema: schema)
        await #expect(throws: StrataError.self) { try await store.append(to: "doomed", events: PostgresTest.events(2)) }
        let next = try await store.append(to: "kept", events: PostgresTest.events(2))
        #expect(taken.withLock { $0 } == [1...2, 1...2])
        #expect(next.firstPosition == 1 && next.lastPosition == 2)
        let all = try await reader.readAll().collect()
        #expect(all.map(\.stream) == ["kept", "kept"])
        PostgresTest.expectContiguous(all)
        #expect(try await reader.streamInfo("doomed").exists == false)
        try await store.close()
        try await reader.close()
        await tracker.dropAll()
    }

    @Test("eight writers in two stores append concurrently while a subscriber reads $all: every position once, in order")
    func concurrentWritersNeverSkip() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("writers")
        let stores = [try await PostgresTest.openStore(schema: schema), try await PostgresTest.openStore(schema: schema)]
        let subscriber = Collector(stores[1].subscribeToAll(from: .start))
        let perWriter = 40, batch = 5
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for i in 0..<perWriter {
                        try await stores[writer % 2].append(to: "w\(writer)-\(i % 3)", events: PostgresTest.events(batch, from: i * batch, writer: "w\(writer)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = 8 * perWriter * batch
        try await subscriber.waitFor(total, "every event in the subscription")
        let seen = subscriber.events.withLock { $0 }
        PostgresTest.expectContiguous(seen)
        #expect(seen.count == total)
        #expect(Set(seen.map(\.id)).count == total, "an event was delivered twice")
        await subscriber.stop()
        for store in stores { try await store.close() }
        await tracker.dropAll()
    }
}
