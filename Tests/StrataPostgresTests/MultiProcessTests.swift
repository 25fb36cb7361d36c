import Foundation
import Strata
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// Several processes on one database (issue 4): each appends, each subscribes to `$all`.
@Suite("several processes on one PostgreSQL schema", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresMultiProcessTests {
    @Test("two processes append and subscribe at once, beside the test's own appends and subscription: every subscriber sees every event exactly once, in position order")
    func twoProcessesAppendAndSubscribe() async throws {
        let url = try #require(PostgresTest.url)
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("multi")
        let appendsEach = 80, batch = 3, mine = 20
        let total = 2 * appendsEach * batch + mine
        // The children race to create the schema: the migration runs once, under its lock.
        var children: [ChildProcess] = []
        for prefix in ["alpha", "beta"] {
            children.append(try TestChild.start(store: url + "?schema=\(schema)&sslmode=disable&pool=4", "append", [
                "--prefix", prefix, "--streams", "4", "--appends", String(appendsEach), "--batch", String(batch), "--follow", String(total),
            ]))
        }
        do {
            for child in children { try await child.waitForLines("the child's subscription to start") { $0.contains { $0.hasPrefix("caughtUp") } } }
            let store = try await PostgresTest.openStore(schema: schema)
            let received = Mutex<[RecordedEvent]>([])
            let consumer = Task {
                for try await event in store.subscribeToAll(from: .start).events {
                    let count = received.withLock { $0.append(event); return $0.count }
                    if count == total { return }
                }
            }
            for i in 0..<(mine / 2) {
                try await store.append(to: "test-\(i % 2)", events: PostgresTest.events(2, from: 2 * i))
            }
            for child in children {
                let exited = try await child.waitForExit(timeout: .seconds(120))
                #expect(exited && child.exitedCleanly, "the child did not finish: \(child.lines.count) lines, stderr: \(child.stderr)")
            }
            try await Wait.until("the test's subscription to see every event") { received.withLock { $0.count } >= total }
            consumer.cancel()
            _ = await consumer.result

            let stored = try await store.readAll().collect()
            #expect(stored.count == total)
            PostgresTest.expectContiguous(stored)
            let expected = stored.map(EventLine.init)
            for (n, child) in children.enumerated() {
                let seen = EventLine.parse(child.lines)
                #expect(seen == expected, "child \(n) saw \(seen.count) events; first difference at \(zip(seen, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(seen.count, expected.count))")
                // Every acknowledged append is stored where the child was told.
                let acks = AckLine.parse(child.lines)
                for ack in acks {
                    let last = stored[Int(ack.lastPosition) - 1]
                    #expect(last.stream == ack.stream && last.revision == ack.lastRevision && last.id == ack.lastID, "\(ack) does not match the store")
                }
                #expect(acks.count == appendsEach)
            }
            #expect(received.withLock { $0 }.map(\.id) == stored.map(\.id), "the test's subscription")
            try await store.close()
        } catch {
            for child in children { try? await child.kill() }
            await tracker.dropAll()
            throw error
        }
        await tracker.dropAll()
    }
}
