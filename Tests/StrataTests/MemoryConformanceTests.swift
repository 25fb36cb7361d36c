import Strata
import StrataConformance
import Testing

/// The in-memory store as a conformance-suite backend: every store is fresh and nothing needs
/// cleaning up.
struct MemoryHarness: ConformanceHarness {
    func makeStore() async throws -> any EventStore { InMemoryEventStore() }
    func makeStore(limits: EventLimits) async throws -> (any EventStore)? { InMemoryEventStore(limits: limits) }
    func cleanUp() async {}
}

@Suite("InMemoryEventStore conformance")
struct MemoryConformanceTests {
    @Test("the memory store passes the conformance check", arguments: ConformanceSuite.checkNames)
    func conformance(_ name: String) async throws {
        try await ConformanceSuite.run(name, harness: MemoryHarness())
    }

    /// The model against itself: exercises the generator, the comparison and determinism.
    /// Seeds and length: STRATA_PROPERTY_SEEDS (e.g. `7` or `1...100`), STRATA_PROPERTY_OPS.
    @Test("random operation sequences give the same results on the memory store as on the model",
          arguments: ConformanceSuite.propertySeeds)
    func property(seed: UInt64) async throws {
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations, harness: MemoryHarness())
    }
}
