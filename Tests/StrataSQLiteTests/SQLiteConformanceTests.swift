import Foundation
import Strata
import StrataConformance
import StrataSQLite
import StrataTestSupport
import Synchronization
import Testing

/// The SQLite backend as a conformance-suite backend: each store is its own database file in a
/// fresh temporary directory, with the default configuration (`synchronous=NORMAL`).
final class SQLiteHarness: ConformanceHarness {
    private let directories = Mutex<[String]>([])

    private func newDatabase() -> String {
        let dir = TemporaryDirectory.freshPath("sqlite-conf")
        directories.withLock { $0.append(dir) }
        return dir + "/events.db"
    }

    func makeStore() async throws -> any EventStore {
        try SQLiteEventStore(path: newDatabase())
    }

    func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        try SQLiteEventStore(path: newDatabase(), configuration: SQLiteConfiguration(limits: limits))
    }

    func cleanUp() async {
        for dir in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }
}

@Suite("SQLiteEventStore conformance")
struct SQLiteConformanceTests {
    @Test("the SQLite store passes the conformance check", arguments: ConformanceSuite.checkNames)
    func conformance(_ name: String) async throws {
        let harness = SQLiteHarness()
        defer { Task { await harness.cleanUp() } }
        try await ConformanceSuite.run(name, harness: harness)
    }

    /// Seeds and length: STRATA_PROPERTY_SEEDS (e.g. `7` or `1...100`), STRATA_PROPERTY_OPS.
    @Test("random operation sequences give the same results on the SQLite store as on the model",
          arguments: ConformanceSuite.propertySeeds)
    func property(seed: UInt64) async throws {
        let harness = SQLiteHarness()
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations, harness: harness)
        await harness.cleanUp()
    }
}
