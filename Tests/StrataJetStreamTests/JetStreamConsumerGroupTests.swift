import Foundation
import Strata
import StrataConsumers
@testable import StrataJetStream
import StrataTestSupport
import Testing

/// The consumers' records kept in JetStream (`JetStreamCheckpointStore`): leases with
/// compare-and-set, parked events, definitions, and a consumer group whose members are processes
/// killed at random (loopback nats-server, bounded).
@Suite("JetStream: consumers' records, leases and consumer groups", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamConsumerGroupTests {
    static func open(_ url: String, store: String) async throws -> JetStreamEventStore {
        var config = try JetStreamStoreConfiguration(urls: [url], store: store)
        config.limits.maxEventSize = 900_000
        return try await JetStreamEventStore.open(config)
    }

    @Test("leases through two instances: exclusive, renewed with the same token, released and lapsed to the next owner; checkpoints, parked pages and definitions")
    func records() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let first = try await Self.open(cluster.nodes[0].url, store: "records")
            let second = try await Self.open(cluster.nodes[0].url, store: "records")
            let a = try await JetStreamCheckpointStore.open(sharing: first)
            let b = try await JetStreamCheckpointStore.open(sharing: second)
            try await LeaseStoreChecks.run(a, b, timed: true)

            #expect(try await a.checkpoint(for: "c") == nil)
            try await a.commit(consumer: "c", through: 7) { _ in }
            #expect(try await b.checkpoint(for: "c") == 7)
            try await b.resetCheckpoint(for: "c", to: nil)
            #expect(try await a.checkpoint(for: "c") == nil)
            for position: UInt64 in [5, 3, 9, 12] {
                try await a.park(ParkedEvent(consumer: "c", position: position, stream: "s", revision: 1, type: "t", error: "e\(position)", attempts: 1))
            }
            #expect(try await b.parked(consumer: "c", after: 3, limit: 2).map(\.position) == [5, 9])
            try await b.unpark(consumer: "c", position: 5)
            #expect(try await a.parked(consumer: "c", after: nil, limit: 10).map(\.position) == [3, 9, 12])
            #expect(try await a.parked(consumer: "other", after: nil, limit: 10).isEmpty)
            try await a.saveDefinition("$all::g", Data(#"{"x":1}"#.utf8))
            #expect(try await b.definitions() == ["$all::g": Data(#"{"x":1}"#.utf8)])
            try await b.saveDefinition("$all::g", nil)
            #expect(try await a.definitions().isEmpty)
            let identity = try await first.identity()
            try await a.bind(consumer: "c", toStore: identity)
            #expect(try await b.boundStore(consumer: "c") == identity)
            try await first.close()
            try await second.close()
        }
    }

    @Test("members in child processes killed at random, records in JetStream: every event handled, in order per stream, no checkpoint past an unhandled event")
    func killedMembers() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let dir = TemporaryDirectory.freshPath("jetstream-group")
            defer { TemporaryDirectory.remove(dir) }
            try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
            let store = try await Self.open(cluster.nodes[0].url, store: "grouped")
            let checkpoints = try await JetStreamCheckpointStore.open(sharing: store)
            let seed = UInt64(ProcessInfo.processInfo.environment["STRATA_GROUP_SEED"] ?? "") ?? UInt64.random(in: 1 ... 1_000_000)
            print("consumer group kill run, JetStream records: seed \(seed) (STRATA_GROUP_SEED replays it)")
            var run = ConsumerGroupKillRun(store: cluster.nodes[0].url + "/grouped?maxEventSize=900000", checkpoints: "jetstream", seed: seed)
            run.events = 600
            let repeated = try await run.run(eventStore: store, group: "g", logs: dir + "/logs") {
                var result: [Int: UInt64] = [:]
                for partition in 0 ..< 8 {
                    result[partition] = try await checkpoints.checkpoint(for: ConsumerGroups.consumerName(group: "g", partition: partition))
                }
                return result
            }
            print("consumer group kill run, JetStream records: \(repeated) events handled again after kills and handovers")
            try await store.close()
        }
    }
}
