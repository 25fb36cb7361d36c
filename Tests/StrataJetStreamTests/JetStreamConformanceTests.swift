import Foundation
import Strata
import StrataConformance
import StrataJetStream
import StrataNATS
import StrataStores
import Synchronization
import Testing

/// Fresh stores on a running server or cluster: each gets its own JetStream stream.
/// With `viaRegistry`, stores open through the CLI's store registry from a `nats://` URL, as
/// `strata … --store nats://…` and `strata serve` open them (issue 18).
final class JetStreamHarness: ConformanceHarness {
    let urls: [String]
    let replicas: Int
    let viaRegistry: Bool
    private let counter = Mutex(0)

    init(urls: [String], replicas: Int, viaRegistry: Bool = false) {
        self.urls = urls
        self.replicas = replicas
        self.viaRegistry = viaRegistry
    }

    func configuration(limits: EventLimits = .default) throws -> JetStreamStoreConfiguration {
        let n = counter.withLock { $0 += 1; return $0 }
        var config = try JetStreamStoreConfiguration(urls: urls, store: "c\(n)_\(UUID().uuidString.prefix(8))")
        config.replicas = replicas
        config.limits = limits
        return config
    }

    func makeStore() async throws -> any EventStore {
        guard viaRegistry else { return try await JetStreamEventStore.open(configuration()) }
        let n = counter.withLock { $0 += 1; return $0 }
        let servers = urls.map { $0.replacingOccurrences(of: "nats://", with: "") }.joined(separator: ",")
        let url = "nats://\(servers)/r\(n)_\(UUID().uuidString.prefix(8))?replicas=\(replicas)"
        return try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
    }

    func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        try await JetStreamEventStore.open(configuration(limits: limits))
    }

    func cleanUp() async {}
}

/// Runs every conformance check (and a few property seeds) against one server setup, with up
/// to `parallel` checks at once (each on its own JetStream stream: creating a replicated stream
/// waits on the cluster, not on this machine).
func runConformance(urls: [String], replicas: Int, seeds: [UInt64], operations: Int, parallel: Int = 1, viaRegistry: Bool = false) async throws {
    let harness = JetStreamHarness(urls: urls, replicas: replicas, viaRegistry: viaRegistry)
    #expect(ConformanceSuite.checkNames.count > 50)
    await withTaskGroup(of: Void.self) { group in
        var names = ConformanceSuite.checkNames[...]
        func startNext() {
            guard let name = names.popFirst() else { return }
            group.addTask {
                do {
                    try await ConformanceSuite.run(name, harness: harness)
                } catch {
                    Issue.record("conformance check \(name.debugDescription) failed: \(error)")
                }
            }
        }
        for _ in 0 ..< parallel { startNext() }
        while await group.next() != nil { startNext() }
    }
    for seed in seeds {
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: operations, harness: harness)
    }
}

@Suite("JetStreamEventStore conformance", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamConformanceTests {
    @Test("the JetStream store passes the conformance suite on a single node, opened from nats:// URLs by the store registry")
    func singleNode() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            try await runConformance(urls: cluster.urls, replicas: 1, seeds: [1, 2, 3], operations: 300, viaRegistry: true)
        }
    }

    @Test("the JetStream store passes the conformance suite on a 3-node cluster with 3 replicas")
    func cluster() async throws {
        try await NATSTestCluster.run(nodes: 3) { cluster in
            try await runConformance(urls: cluster.urls, replicas: 3, seeds: [4], operations: 300, parallel: 6)
        }
    }
}
