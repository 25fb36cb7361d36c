import Foundation
import StrataTestSupport
import Synchronization
import Testing

/// Three `strata serve` instances over a 3-node JetStream cluster with 3 replicas (issue 18,
/// docs/SCALING.md): appends round-robin over HTTP, a live `$all` subscriber on each instance,
/// one instance SIGKILLed mid-load and then the stream's leader node. `STRATA_SCALE_EVENTS` sets
/// the number of appends (300 by default); `STRATA_SCALE_MEASURE=1` (or a larger factor) also
/// measures 1 and 3 instances.
@Suite("many strata serve instances over a JetStream cluster", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamManyInstancesTests {
    static var events: Int { TestEnvironment.integer("STRATA_SCALE_EVENTS", 300) }
    static var measureFactor: Int { TestEnvironment.integer("STRATA_SCALE_MEASURE", 0) }

    /// The store `store` on every node of `cluster`, with 3 replicas.
    static func storeURL(_ cluster: NATSTestCluster, _ store: String) -> String {
        "nats://" + cluster.nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(store)?replicas=3"
    }

    /// The stream leader's server name, as `GET /stats` of `instance` reports it.
    static func leader(through instance: ServeInstance) async throws -> String {
        let answer = try await HTTPTestClient.send(.GET, instance.baseURL + "/stats")
        guard let leader = (answer.json["details"] as? [String: Any])?["leader"] as? String else {
            throw NATSTestError("no leader in the stats of \(instance): \(answer.status) \(answer.text)")
        }
        return leader
    }

    /// The leader node the disruption killed.
    final class KilledLeader: Sendable {
        let name = Mutex<String?>(nil)
    }

    @Test("three instances, appends round-robin, one instance and then the stream leader SIGKILLed mid-load: every live subscriber sees every acknowledged event exactly once, in position order, and the killed instance's subscriber resumes elsewhere with Last-Event-ID")
    func threeInstancesInstanceAndLeaderKilled() async throws {
        let events = Self.events
        try await NATSTestCluster.run(nodes: 3) { cluster in
            let killedLeader = KilledLeader()
            try await ServeInstance.with(3, store: Self.storeURL(cluster, "scale")) { instances in
                let outcome = try await ManyInstancesLoad(events: events).run(instances) { load in
                    try await load.waitForAcknowledged(events / 3)
                    try await load.kill(0)
                    try await load.waitForAcknowledged(2 * events / 3)
                    let leader = try await Self.leader(through: load.running[0])
                    guard let node = cluster.nodes.first(where: { $0.name == leader }) else {
                        throw NATSTestError("the leader \(leader) is no node of the cluster")
                    }
                    await node.kill()
                    killedLeader.name.withLock { $0 = leader }
                }
                print("jetstream many instances: \(outcome), leader killed: \(killedLeader.name.withLock { $0 } ?? "none")")
                #expect(outcome.unmet(events: events, killed: [0]) == [])
                let killed = try #require(killedLeader.name.withLock { $0 })
                #expect(cluster.nodes.first { $0.name == killed }?.process?.isRunning == false)
                let newLeader = try await Self.leader(through: instances[1])
                #expect(newLeader != killed, "a surviving node leads the stream")
                // A survivor whose connection was on the killed node may finish an operation
                // against the re-electing cluster first: bounded by the store's operation
                // timeout (30 s), so the grace is above it.
                for survivor in instances.dropFirst() {
                    #expect(try await survivor.process.stop(grace: .seconds(45)), "\(survivor) shuts down gracefully after the load")
                }
            }
        }
    }

    @Test("appends per second and SSE latency through 1 and 3 instances (STRATA_SCALE_MEASURE)", .enabled(if: measureFactor > 0))
    func measure() async throws {
        try await NATSTestCluster.run(nodes: 3) { cluster in
            for count in [1, 3] {
                try await ServeInstance.with(count, store: Self.storeURL(cluster, "measure\(count)")) { instances in
                    let figures = try await ManyInstancesMeasure(factor: Self.measureFactor).run(instances)
                    print("jetstream \(figures)")
                    #expect(figures.singleEventsPerSecond > 0 && figures.batchEventsPerSecond > 0)
                }
            }
        }
    }
}
