import Foundation
import Strata
import StrataDocuments
import Testing
@testable import StrataPostgres

/// Strata Documents on PostgreSQL: two instances, each with its own `PostgresEventStore` (its own
/// pool, as two machines would have) on one schema, converge; each write is visible to its own
/// instance at once (read-your-writes).
@Suite("Documents on PostgreSQL", .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct DocumentsOnPostgresTests {
    @Test("two instances on two connections to one schema converge, with read-your-writes")
    func twoInstancesConverge() async throws {
        let tracker = SchemaTracker()
        let schema = tracker.newSchema("documents")
        let first = try await PostgresTest.openStore(schema: schema)
        let second = try await PostgresTest.openStore(schema: schema)
        let a = try await DocumentStore.open(store: first, collection: "users")
        let b = try await DocumentStore.open(store: second, collection: "users")

        let written = try await a.put("ada", ["name": "Ada", "age": 36])
        #expect(try a.get("ada") == written)   // read-your-writes, no wait
        #expect(written.meta.changes == 1)
        try await b.sync()
        #expect(try b.get("ada") == written)

        // Concurrent writers on both sides, then both converge to the same documents and meta.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0 ..< 10 {
                group.addTask { _ = try await a.put("a-\(i)", ["n": .int(Int64(i))]) }
                group.addTask { _ = try await b.put("b-\(i)", ["n": .int(Int64(i))]) }
            }
            try await group.waitForAll()
        }
        _ = try await b.patch("ada", ["age": 37])
        try await a.sync()
        try await b.sync()
        #expect(try a.count() == 21 && b.count() == 21)
        #expect(try a.get("ada") == b.get("ada"))
        #expect(try a.get("ada")?.meta.changes == 2)
        for key in ["a-3", "b-7"] { #expect(try a.get(key) == b.get(key)) }

        try await a.close()
        try await b.close()
        try await first.close()
        try await second.close()
        await tracker.dropAll()
    }
}
