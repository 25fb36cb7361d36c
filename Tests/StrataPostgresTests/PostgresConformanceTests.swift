import Foundation
import Strata
import StrataConformance
import StrataPostgres
import StrataStores
import Testing

/// PostgreSQL as a conformance-suite backend: every store lives in a fresh schema, dropped by
/// `cleanUp`. Stores open through the CLI's store registry, from a `postgres://` URL, as
/// `strata … --store postgres://…` and `strata serve` open them (issue 18); a store with other
/// limits than a URL can say is configured directly.
final class PostgresHarness: ConformanceHarness {
    private let schemas = SchemaTracker()

    func makeStore() async throws -> any EventStore {
        let url = try #require(PostgresTest.url) + "?schema=\(schemas.newSchema("conf"))&sslmode=disable&pool=4"
        return try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
    }

    func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        try await PostgresTest.openStore(schema: schemas.newSchema("conf"), limits: limits)
    }

    func cleanUp() async {
        await schemas.dropAll()
    }
}

/// One check at a time: each opens a store with its own pool and listener connection, and the
/// test cluster has a bounded number of connections.
@Suite("PostgresEventStore conformance", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresConformanceTests {
    @Test("the PostgreSQL store passes the conformance check", arguments: ConformanceSuite.checkNames)
    func conformance(_ name: String) async throws {
        try await ConformanceSuite.run(name, harness: PostgresHarness())
    }
}

@Suite("PostgresEventStore property test", .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresPropertyTests {
    /// Seeds and length: STRATA_PROPERTY_SEEDS (e.g. `7` or `1...100`), STRATA_PROPERTY_OPS.
    @Test("random operation sequences give the same results on the PostgreSQL store as on the model",
          arguments: ConformanceSuite.propertySeeds)
    func property(seed: UInt64) async throws {
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations, harness: PostgresHarness())
    }
}
