import Foundation
import PostgresNIO
import Strata
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// Subscriptions across processes: LISTEN/NOTIFY wakes them, polling catches what a lost
/// notification would have announced, and a server restart only delays them.
@Suite("live subscriptions on PostgreSQL", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct LiveSubscriptionTests {
    typealias Collector = GapFreeOrderingTests.Collector

    static func store(schema: String, pollInterval: Duration, url: String? = nil) async throws -> PostgresEventStore {
        var configuration = try PostgresTest.configuration(schema: schema, url: url)
        configuration.pollInterval = pollInterval
        return try await PostgresEventStore(configuration: configuration)
    }

    @Test("an append in another store wakes a subscriber through NOTIFY, long before its poll interval")
    func notificationWakesSubscriber() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("notify")
        let subscriberStore = try await Self.store(schema: schema, pollInterval: .seconds(300))
        let writer = try await PostgresTest.openStore(schema: schema)
        try await Wait.until("the listener to listen") { subscriberStore.watcher.isListening }
        let subscriber = Collector(subscriberStore.subscribeToAll(from: .start))
        // Live, and waiting: what comes next can only come by notification (or a 300 s poll).
        try await Wait.until("the subscription to go live") { subscriber.caughtUp.withLock { $0 } }
        let started = ContinuousClock.now
        for i in 0..<5 { try await writer.append(to: "s", events: PostgresTest.events(1, from: i)) }
        try await subscriber.waitFor(5, "five appends of the other store")
        #expect(ContinuousClock.now - started < .seconds(120), "delivered by notification, not by the 300 s poll")
        #expect(subscriber.events.withLock { $0.map(\.position) } == [1, 2, 3, 4, 5])
        await subscriber.stop()
        try await subscriberStore.close()
        try await writer.close()
        await tracker.dropAll()
    }

    @Test("events committed without a notification (a lost one) reach a subscriber by polling within the poll interval")
    func pollingCatchesLostNotifications() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("poll")
        let store = try await Self.store(schema: schema, pollInterval: .milliseconds(100))
        try await store.append(to: "s", events: PostgresTest.events(1))
        let subscriber = Collector(store.subscribeToAll(from: .start))
        try await subscriber.waitFor(1, "the first event")
        // A writer that follows the schema's protocol but sends no NOTIFY.
        try await PostgresTest.withConnection { connection in
            let s = "\"\(schema)\""
            try await connection.run("BEGIN", logger: connection.logger)
            try await connection.run(PostgresQuery(unsafeSQL: "UPDATE \(s).streams SET last_revision = 2 WHERE name = 's'"), logger: connection.logger)
            try await connection.run(PostgresQuery(unsafeSQL: """
                WITH c AS (UPDATE \(s).head SET position = position + 1 RETURNING position)
                INSERT INTO \(s).events (position, id, stream, revision, recorded_at, type, content_type, data)
                SELECT position, gen_random_uuid(), 's', 2, 0, 'silent', 'application/json', '\\x7b7d'::bytea FROM c
                """), logger: connection.logger)
            try await connection.run("COMMIT", logger: connection.logger)
        }
        try await subscriber.waitFor(2, "the silent event")
        #expect(subscriber.events.withLock { $0.last?.type } == "silent")
        await subscriber.stop()
        try await store.close()
        await tracker.dropAll()
    }

    @Test("after a server restart the listener reconnects and the subscriber goes on from its place",
          .enabled(if: PostgresTest.script != nil, "needs scripts/postgres.sh (STRATA_TEST_POSTGRES_SCRIPT)"))
    func serverRestart() async throws {
        // A private cluster: restarting the shared one would break the tests running beside this one.
        try await ConnectionLossTests.Cluster.with { cluster in
            try await Self.followThroughRestart(url: cluster.url, restart: { try await cluster.run("restart") })
        }
    }

    static func followThroughRestart(url: String, restart: () async throws -> Void) async throws {
        // The subscriber's store polls rarely: after the restart, only the reconnected listener
        // (which reads the head once it listens again) can wake it in time.
        let subscriberStore = try await store(schema: "strata", pollInterval: .seconds(300), url: url)
        let writer = try await PostgresTest.openStore(schema: "strata", url: url)
        try await writer.append(to: "before", events: PostgresTest.events(2))
        let subscriber = Collector(subscriberStore.subscribeToAll(from: .start))
        try await subscriber.waitFor(2, "the events before the restart")
        #expect(subscriberStore.watcher.listenerConnections == 1)

        try await restart()
        try await Wait.until("the listener to reconnect", timeout: .seconds(30)) {
            subscriberStore.watcher.listenerConnections >= 2 && subscriberStore.watcher.isListening
        }
        // The writer's pooled connections died with the server; the append retries on new ones.
        let after = try await writer.append(to: "after", events: PostgresTest.events(1))
        #expect(after.firstPosition == 3)
        try await subscriber.waitFor(3, "the event appended after the restart")
        #expect(subscriber.events.withLock { $0.map(\.position) } == [1, 2, 3])
        #expect(subscriber.failure.withLock { $0 } == nil)
        // And the subscriber's own store reads and appends on its renewed pool.
        try await subscriberStore.append(to: "after", events: PostgresTest.events(1, from: 1))
        try await subscriber.waitFor(4, "the subscriber store's own append")
        await subscriber.stop()
        try await subscriberStore.close()
        try await writer.close()
    }
}
