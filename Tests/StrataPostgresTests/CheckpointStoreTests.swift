import Foundation
import PostgresNIO
import Strata
import StrataConsumers
import Testing
@testable import StrataPostgres

/// `PostgresCheckpointStore`: the handler's read model and the checkpoint commit together.
@Suite("PostgreSQL checkpoints", .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct CheckpointStoreTests {
    struct HandlerFailed: Error {}

    /// A store with a read-model table `model (k text primary key, v bigint)` in its schema.
    static func setUp(_ tracker: SchemaTracker) async throws -> (PostgresEventStore, PostgresCheckpointStore, String) {
        let schema = tracker.newSchema("checkpoints")
        let store = try await PostgresTest.openStore(schema: schema)
        try await PostgresTest.execute("CREATE TABLE \"\(schema)\".model (k text PRIMARY KEY, v bigint NOT NULL)")
        return (store, PostgresCheckpointStore(store: store), schema)
    }

    static func model(_ schema: String) async throws -> [String: Int64] {
        try await PostgresTest.withConnection { connection in
            var model: [String: Int64] = [:]
            for row in try await connection.rows(PostgresQuery(unsafeSQL: "SELECT k, v FROM \"\(schema)\".model"), logger: connection.logger) {
                let (k, v) = try row.decode((String, Int64).self)
                model[k] = v
            }
            return model
        }
    }

    static func write(_ connection: PostgresConnection, schema: String, key: String, value: Int64) async throws {
        try await connection.run(PostgresQuery(unsafeSQL: """
            INSERT INTO "\(schema)".model (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v
            """, binds: try binds(key, value)), logger: connection.logger)
    }

    @Test("a consumer's checkpoint is bound to the store it reads, per consumer; the store's identity survives a reopen")
    func storeBinding() async throws {
        let tracker = SchemaTracker()
        let (store, checkpoints, schema) = try await Self.setUp(tracker)
        let identity = try await store.identity()
        #expect(UUID(uuidString: identity.value) != nil)
        let other = InMemoryEventStore()
        #expect(try await checkpoints.boundStore(consumer: "totals") == nil)
        try await checkpoints.bind(to: store, consumer: "totals")
        try await checkpoints.bind(to: other, consumer: "mirror")
        try await checkpoints.bind(to: store, consumer: "totals")
        await #expect(throws: StrataError.checkpointOfAnotherStore(consumer: "totals", recorded: identity.value,
                                                                   actual: try await other.identity().value)) {
            try await checkpoints.bind(to: other, consumer: "totals")
        }
        try await store.close()
        let reopened = try await PostgresTest.openStore(schema: schema)
        #expect(try await reopened.identity() == identity)
        let again = PostgresCheckpointStore(store: reopened)
        #expect(try await again.boundStore(consumer: "totals") == identity)
        #expect(try await again.boundStore(consumer: "mirror") == (try await other.identity()))
        let another = try await PostgresTest.openStore(schema: tracker.newSchema("checkpoints"))
        #expect(try await another.identity() != identity, "another schema is another store")
        try await another.close()
        try await reopened.close()
        await tracker.dropAll()
    }

    @Test("commit writes the handler's rows and the checkpoint in one transaction")
    func commitTogether() async throws {
        let tracker = SchemaTracker()
        let (store, checkpoints, schema) = try await Self.setUp(tracker)
        #expect(try await checkpoints.checkpoint(for: "totals") == nil)
        let answer = try await checkpoints.commit(consumer: "totals", through: 7) { connection in
            try await Self.write(connection, schema: schema, key: "a", value: 1)
            // Inside the transaction: another connection does not see the row yet.
            #expect(try await Self.model(schema)["a"] == nil)
            return 42
        }
        #expect(answer == 42)
        #expect(try await Self.model(schema) == ["a": 1])
        #expect(try await checkpoints.checkpoint(for: "totals") == 7)
        try await store.close()
        await tracker.dropAll()
    }

    @Test("when the handler throws, neither its rows nor the checkpoint are kept, and its error reaches the caller")
    func handlerFailureRollsBack() async throws {
        let tracker = SchemaTracker()
        let (store, checkpoints, schema) = try await Self.setUp(tracker)
        try await checkpoints.commit(consumer: "totals", through: 3) { try await Self.write($0, schema: schema, key: "a", value: 1) }
        await #expect(throws: HandlerFailed.self) {
            try await checkpoints.commit(consumer: "totals", through: 9) { connection in
                try await Self.write(connection, schema: schema, key: "a", value: 2)
                try await Self.write(connection, schema: schema, key: "b", value: 2)
                throw HandlerFailed()
            }
        }
        #expect(try await Self.model(schema) == ["a": 1])
        #expect(try await checkpoints.checkpoint(for: "totals") == 3)
        // A statement that fails inside the handler rolls everything back too.
        await #expect(throws: (any Error).self) {
            try await checkpoints.commit(consumer: "totals", through: 10) { connection in
                try await Self.write(connection, schema: schema, key: "c", value: 3)
                try await connection.run(PostgresQuery(unsafeSQL: "INSERT INTO \"\(schema)\".model (k, v) VALUES ('d', NULL)"), logger: connection.logger)
            }
        }
        #expect(try await Self.model(schema) == ["a": 1])
        #expect(try await checkpoints.checkpoint(for: "totals") == 3)
        // The connection went back to the pool clean: the next commit works.
        try await checkpoints.commit(consumer: "totals", through: 11) { try await Self.write($0, schema: schema, key: "e", value: 5) }
        #expect(try await Self.model(schema) == ["a": 1, "e": 5])
        #expect(try await checkpoints.checkpoint(for: "totals") == 11)
        try await store.close()
        await tracker.dropAll()
    }

    @Test("resetCheckpoint moves or forgets a checkpoint; consumers are independent")
    func reset() async throws {
        let tracker = SchemaTracker()
        let (store, checkpoints, _) = try await Self.setUp(tracker)
        try await checkpoints.resetCheckpoint(for: "a", to: 100)
        try await checkpoints.resetCheckpoint(for: "b", to: 5)
        #expect(try await checkpoints.checkpoint(for: "a") == 100)
        try await checkpoints.resetCheckpoint(for: "a", to: nil)
        #expect(try await checkpoints.checkpoint(for: "a") == nil)
        #expect(try await checkpoints.checkpoint(for: "b") == 5)
        try await store.close()
        await tracker.dropAll()
    }

    @Test("parked events: one entry per position (the newer wins), listed in pages in position order, removable")
    func parking() async throws {
        let tracker = SchemaTracker()
        let (store, checkpoints, _) = try await Self.setUp(tracker)
        for position in [9, 3, 7, 1, 5] as [UInt64] {
            try await checkpoints.park(ParkedEvent(consumer: "c", position: position, stream: "s-\(position)", revision: position,
                                                   type: "t", error: "failed once", attempts: 1, parkedAtMicroseconds: 10))
        }
        try await checkpoints.park(ParkedEvent(consumer: "c", position: 5, stream: "s-5", revision: 5, type: "t",
                                               error: "failed again\u{0}with a NUL", attempts: 3, parkedAtMicroseconds: 20))
        try await checkpoints.park(ParkedEvent(consumer: "other", position: 2, stream: "x", revision: 1, type: "t", error: "e", attempts: 1))
        let first = try await checkpoints.parked(consumer: "c", after: nil, limit: 2)
        #expect(first.map(\.position) == [1, 3])
        let second = try await checkpoints.parked(consumer: "c", after: 3, limit: 2)
        #expect(second.map(\.position) == [5, 7])
        #expect(second[0].error == "failed again\u{0}with a NUL" && second[0].attempts == 3 && second[0].parkedAtMicroseconds == 20)
        #expect(try await checkpoints.parked(consumer: "c", after: 7, limit: 2).map(\.position) == [9])
        try await checkpoints.unpark(consumer: "c", position: 3)
        try await checkpoints.unpark(consumer: "c", position: 4)
        #expect(try await checkpoints.parked(consumer: "c", after: nil, limit: 10).map(\.position) == [1, 5, 7, 9])
        #expect(try await checkpoints.parked(consumer: "other", after: nil, limit: 10).map(\.position) == [2])
        try await store.close()
        await tracker.dropAll()
    }
}
