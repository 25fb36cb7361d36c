import Foundation
import StrataTestSupport
import Testing

/// Three `strata serve` instances over one PostgreSQL schema (issue 18, docs/SCALING.md): appends
/// round-robin over HTTP, a live `$all` subscriber on each instance, one instance SIGKILLed
/// mid-load. `STRATA_SCALE_EVENTS` sets the number of appends (300 by default);
/// `STRATA_SCALE_MEASURE=1` (or a larger factor) also measures 1 and 3 instances.
@Suite("many strata serve instances over one PostgreSQL", .serialized, .enabled(if: PostgresTest.isEnabled, "set STRATA_TEST_POSTGRES_URL (scripts/test.sh does)"))
struct PostgresManyInstancesTests {
    static var events: Int { TestEnvironment.integer("STRATA_SCALE_EVENTS", 300) }
    static var measureFactor: Int { TestEnvironment.integer("STRATA_SCALE_MEASURE", 0) }

    /// Runs `body` with `count` instances over a fresh schema of the test server; stops them and
    /// drops the schema whatever happens.
    static func withInstances(_ count: Int, _ label: String, _ body: ([ServeInstance]) async throws -> Void) async throws {
        let tracker = SchemaTracker()
        let url = try #require(PostgresTest.url) + "?schema=\(tracker.newSchema(label))&sslmode=disable&pool=4"
        do {
            try await ServeInstance.with(count, store: url, body)
        } catch {
            await tracker.dropAll()
            throw error
        }
        await tracker.dropAll()
    }

    @Test("three instances, appends round-robin, one SIGKILLed mid-load: every live subscriber sees every acknowledged event exactly once, in position order, and the killed one's subscriber resumes elsewhere with Last-Event-ID")
    func threeInstancesOneKilled() async throws {
        let events = Self.events
        try await Self.withInstances(3, "scale") { instances in
            let outcome = try await ManyInstancesLoad(events: events).run(instances) { load in
                try await load.waitForAcknowledged(events / 3)
                try await load.kill(0)
            }
            print("postgres many instances: \(outcome)")
            #expect(outcome.unmet(events: events, killed: [0]) == [])
            #expect(instances[0].process.wasSignalled)
            for survivor in instances.dropFirst() {
                #expect(try await survivor.process.stop(), "\(survivor) shuts down gracefully after the load")
            }
        }
    }

    @Test("appends per second and SSE latency through 1 and 3 instances (STRATA_SCALE_MEASURE)", .enabled(if: measureFactor > 0))
    func measure() async throws {
        for count in [1, 3] {
            try await Self.withInstances(count, "measure") { instances in
                let figures = try await ManyInstancesMeasure(factor: Self.measureFactor).run(instances)
                print("postgres \(figures)")
                #expect(figures.singleEventsPerSecond > 0 && figures.batchEventsPerSecond > 0)
            }
        }
    }
}
