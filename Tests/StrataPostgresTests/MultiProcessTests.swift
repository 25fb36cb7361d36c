import Foundation
import Strata
import Synchronization
import Testing
@testable import StrataPostgres

/// Several processes on one database (issue 4): each appends, each subscribes to `$all`.
@Suite("several processes on one PostgreSQL schema", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresMultiProcessTests {
    /// One `event` line of the child.
    struct Seen: Hashable {
        let position: UInt64
        let stream: String
        let revision: UInt64
        let id: String

        init?(_ line: String) {
            let parts = line.split(separator: " ")
            guard parts.count == 5, parts[0] == "event", let position = UInt64(parts[1]), let revision = UInt64(parts[3]) else { return nil }
            self.position = position
            self.stream = String(parts[2])
            self.revision = revision
            self.id = String(parts[4])
        }
    }

    @Test("two processes append and subscribe at once, beside the test's own appends and subscription: every subscriber sees every event exactly once, in position order")
    func twoProcessesAppendAndSubscribe() async throws {
        let url = try #require(PostgresTest.url)
        let writer = try #require(ChildProcess.testWriter, "StrataPostgresTestWriter not found next to the tests; build with --build-tests")
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("multi")
        let appendsEach = 80, batch = 3, mine = 20
        let total = 2 * appendsEach * batch + mine
        // The children race to create the schema: the migration runs once, under its lock.
        var children: [ChildProcess] = []
        for prefix in ["alpha", "beta"] {
            children.append(try ChildProcess.start(writer, [
                "run", "--url", url + "?sslmode=disable", "--schema", schema, "--prefix", prefix,
                "--appends", String(appendsEach), "--batch", String(batch), "--expect", String(total),
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
                let exited = try await child.waitForExit(limit: .seconds(120))
                #expect(exited && child.exitedCleanly, "the child did not finish: \(child.lines.count) lines, stderr: \(child.stderr)")
            }
            try await PostgresTest.waitUntil("the test's subscription to see every event") { received.withLock { $0.count } >= total }
            consumer.cancel()
            _ = await consumer.result

            let stored = try await store.readAll().collect()
            #expect(stored.count == total)
            PostgresTest.expectContiguous(stored)
            let expected = stored.map { Seen("event \($0.position) \($0.stream) \($0.revision) \($0.id.uuidString)")! }
            for (n, child) in children.enumerated() {
                let seen = child.lines.compactMap(Seen.init)
                #expect(seen == expected, "child \(n) saw \(seen.count) events; first difference at \(zip(seen, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(seen.count, expected.count))")
                // Every acknowledged append is stored where the child was told.
                for line in child.lines where line.hasPrefix("ack ") {
                    let parts = line.split(separator: " ")
                    let last = try #require(UInt64(parts[2]))
                    #expect(stored[Int(last) - 1].stream == String(parts[3]) && stored[Int(last) - 1].revision == UInt64(parts[4])
                            && stored[Int(last) - 1].id.uuidString == String(parts[5]), "ack \(line) does not match the store")
                }
                #expect(child.lines.filter { $0.hasPrefix("ack ") }.count == appendsEach)
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
