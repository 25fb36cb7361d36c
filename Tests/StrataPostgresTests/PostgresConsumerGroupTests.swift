import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// Leases in the schema's `leases` table (version 3), and consumer groups whose members are
/// processes killed at random.
@Suite("PostgreSQL: leases and consumer groups across processes", .serialized,
       .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresConsumerGroupTests {
    @Test("PostgreSQL leases: exclusive across stores, renewed with the same token, released and lapsed (by the server's clock) to the next owner")
    func leases() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("leases")
        let first = try await PostgresTest.openStore(schema: schema)
        let second = try await PostgresTest.openStore(schema: schema)
        do {
            try await LeaseStoreChecks.run(PostgresCheckpointStore(store: first), PostgresCheckpointStore(store: second), timed: true)
        } catch {
            try? await first.close()
            try? await second.close()
            await tracker.dropAll()
            throw error
        }
        try await first.close()
        try await second.close()
        await tracker.dropAll()
    }

    @Test("members in child processes killed at random, leases in PostgreSQL: every event handled, in order per stream, no checkpoint past an unhandled event")
    func killedMembers() async throws {
        let url = try #require(PostgresTest.url)
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("group")
        let dir = TemporaryDirectory.freshPath("postgres-group")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let store = try await PostgresTest.openStore(schema: schema)
        let checkpoints = PostgresCheckpointStore(store: store)
        let seed = UInt64(ProcessInfo.processInfo.environment["STRATA_GROUP_SEED"] ?? "") ?? UInt64.random(in: 1 ... 1_000_000)
        print("consumer group kill run, PostgreSQL leases: seed \(seed) (STRATA_GROUP_SEED replays it)")
        do {
            let repeated = try await ConsumerGroupKillRun(store: url + "?schema=\(schema)&sslmode=disable&pool=4", checkpoints: "postgres", seed: seed)
                .run(eventStore: store, group: "g", logs: dir + "/logs") {
                    var result: [Int: UInt64] = [:]
                    for partition in 0 ..< 8 {
                        result[partition] = try await checkpoints.checkpoint(for: ConsumerGroups.consumerName(group: "g", partition: partition))
                    }
                    return result
                }
            print("consumer group kill run, PostgreSQL leases: \(repeated) events handled again after kills and handovers")
        } catch {
            try? await store.close()
            await tracker.dropAll()
            throw error
        }
        try await store.close()
        await tracker.dropAll()
    }
}
