import Foundation
import Strata
import StrataConformance
import StrataLog
import StrataTestSupport
import Synchronization
import Testing

/// The log engine as a conformance-suite backend: each store lives in its own temporary
/// directory, with small segments so that checks cross segment boundaries, and durability
/// `.none` to keep the suite fast (durability is what the crash tests cover).
final class LogHarness: ConformanceHarness {
    private let directories = Mutex<[String]>([])

    private func newDirectory() -> String {
        let dir = TemporaryDirectory.freshPath("conf")
        directories.withLock { $0.append(dir) }
        return dir
    }

    func makeStore() async throws -> any EventStore {
        try LogEventStore(directory: newDirectory(), configuration: LogConfiguration(durability: .none, segmentSize: 256 * 1024))
    }

    func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        try LogEventStore(directory: newDirectory(),
                          configuration: LogConfiguration(durability: .none, segmentSize: 256 * 1024, limits: limits))
    }

    func cleanUp() async {
        for dir in directories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }
}

@Suite("LogEventStore conformance")
struct LogConformanceTests {
    @Test("the log store passes the conformance check", arguments: ConformanceSuite.checkNames)
    func conformance(_ name: String) async throws {
        let harness = LogHarness()
        defer { Task { await harness.cleanUp() } }
        try await ConformanceSuite.run(name, harness: harness)
    }

    /// Seeds and length: STRATA_PROPERTY_SEEDS (e.g. `7` or `1...100`), STRATA_PROPERTY_OPS.
    @Test("random operation sequences give the same results on the log store as on the model",
          arguments: ConformanceSuite.propertySeeds)
    func property(seed: UInt64) async throws {
        let harness = LogHarness()
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations, harness: harness)
        await harness.cleanUp()
    }
}
