import Foundation
import Strata
import StrataClient
import StrataConformance
import StrataServer
import Synchronization
import Testing

/// The conformance suite through `RemoteEventStore`: every store the suite asks for is a fresh
/// server on a free port over a fresh `InMemoryEventStore`, reached over HTTP.
final class ClientHarness: ConformanceHarness {
    private let servers = Mutex<[TestServer]>([])

    func makeStore() async throws -> any EventStore {
        try await start(InMemoryEventStore())
    }

    func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        var configuration = ServerConfiguration(port: 0)
        configuration.limits.maxEventBytes = limits.maxEventSize
        return try await start(InMemoryEventStore(limits: limits), configuration: configuration)
    }

    private func start(_ store: InMemoryEventStore, configuration: ServerConfiguration = ServerConfiguration(port: 0)) async throws -> any EventStore {
        let server = try await TestServer(store: store, configuration: configuration)
        servers.withLock { $0.append(server) }
        return try RemoteEventStore(url: server.baseURL)
    }

    func cleanUp() async {
        for server in servers.withLock({ $0 }) { await server.stop() }
    }
}

/// Serialized: each check drives thousands of HTTP requests against deadlines; run side by side on
/// two cores they would measure the machine, not the contract.
@Suite("RemoteEventStore conformance (through a running server)", .serialized)
struct ClientConformanceTests {
    @Test("the HTTP client passes the conformance check", arguments: ConformanceSuite.checkNames)
    func conformance(_ name: String) async throws {
        let harness = ClientHarness()
        try await ConformanceSuite.run(name, harness: harness)
        await harness.cleanUp()
    }

    @Test("random operation sequences give the same results through the server as on the model",
          arguments: ConformanceSuite.propertySeeds.prefix(5))
    func property(seed: UInt64) async throws {
        let harness = ClientHarness()
        try await ConformanceSuite.runPropertyTest(seed: seed, operations: ConformanceSuite.propertyOperations, harness: harness)
        await harness.cleanUp()
    }
}
