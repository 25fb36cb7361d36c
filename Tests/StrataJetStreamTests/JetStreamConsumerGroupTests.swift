import Foundation
import Strata
import StrataConsumers
@testable import StrataJetStream
import StrataStores
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

    @Test("a JetStream store's shared checkpoint store holds persistent subscriptions: create, read, ack, checkpoint, seen by a second instance")
    func persistentSubscriptions() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let store = try await Self.open(cluster.nodes[0].url, store: "persistent")
            for i in 0 ..< 5 { try await store.append(to: "orders-\(i % 2)", events: [EventData(type: "placed", json: "{}")]) }
            let shared = try #require(try await StoreRegistry.sharedCheckpoints(of: store))
            #expect(shared is JetStreamCheckpointStore)
            let name = PersistentSubscriptionName(stream: "$all", group: "billing")
            var settings = PersistentSubscriptionSettings()
            settings.minCheckpointCount = 1
            settings.checkpointAfterMilliseconds = 0
            let first = PersistentSubscriptions(store: store, checkpoints: shared, instance: "http://a:2113", leaseDuration: .seconds(600))
            try await first.create(name, settings: settings)
            let group = try await first.subscription(name)
            let messages = try await group.read(consumer: "worker", maxCount: 10)
            #expect(messages.map(\.event.position) == [1, 2, 3, 4, 5])
            try await group.ack(consumer: "worker", ids: messages.prefix(3).map(\.event.id))
            try await group.saveCheckpoint()
            #expect(try await shared.checkpoint(for: "$all::billing") == 3)

            let other = try await Self.open(cluster.nodes[0].url, store: "persistent")
            let otherShared = try #require(try await StoreRegistry.sharedCheckpoints(of: other))
            let second = PersistentSubscriptions(store: other, checkpoints: otherShared, instance: "http://b:2113", leaseDuration: .seconds(600))
            #expect(try await second.list().map(\.name) == [name])
            await #expect(throws: PersistentSubscriptionError.ownedElsewhere(name, owner: "http://a:2113")) { _ = try await second.subscription(name) }
            await first.stop()
            let resumed = try await second.subscription(name).read(consumer: "worker", maxCount: 10)
            #expect(resumed.map(\.event.position) == [4, 5], "the second instance resumes after the checkpoint")
            await second.stop()
            try await other.close()
            try await store.close()
        }
    }
}
