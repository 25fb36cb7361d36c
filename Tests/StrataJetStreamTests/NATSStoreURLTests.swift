import Foundation
import InMemoryLogging
import Logging
import NIOSSL
import Strata
@testable import StrataNATS
import StrataStores
import StrataTestSupport
import Testing

/// `nats://` store URLs (StrataStores) against a real nats-server with a token, with TLS, and
/// through a restart (loopback, bounded; the servers are this target's `NATSTestCluster`).
@Suite("nats: store URLs on a real server", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct NATSStoreURLTests {
    @Test("a server that wants a token: refused without it, served with STRATA_NATS_TOKEN")
    func token() async throws {
        // The authorization timeout (default 2 s) is raised: a loaded CI machine was slower.
        try await NATSTestCluster.run(nodes: 1, extraConfig: "authorization { token: \"s3cret-token\", timeout: 20 }",
                                      auth: .token("s3cret-token")) { cluster in
            let url = "nats://127.0.0.1:\(cluster.nodes[0].port)/tokens"
            await #expect(throws: (any Error).self) {
                let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
                try? await store.close()
            }
            let store = try await StoreRegistry.standard(environment: ["STRATA_NATS_TOKEN": "s3cret-token"]).open(url, access: .create)
            #expect(try await store.append(to: "s", event: EventData(type: "t", json: "{}")).lastPosition == 1)
            try await store.close()
        }
    }

    @Test("a server with an NKEY user: refused without credentials, served with STRATA_NATS_NKEY naming the seed file")
    func nkey() async throws {
        let user = try NKey(type: .user)
        let directory = try TemporaryDirectory("nats-nkey")
        defer { directory.remove() }
        let seedFile = try directory.write("user.nk", user.seed + "\n")
        try await NATSTestCluster.run(nodes: 1, extraConfig: "authorization {\n users = [ { nkey: \"\(user.publicKey)\" } ]\n timeout: 20\n}",
                                      auth: .nkey(seed: user.seed)) { cluster in
            let url = "nats://127.0.0.1:\(cluster.nodes[0].port)/nkeys"
            await #expect(throws: (any Error).self) {
                let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
                try? await store.close()
            }
            let store = try await StoreRegistry.standard(environment: ["STRATA_NATS_NKEY": seedFile]).open(url, access: .create)
            #expect(try await store.append(to: "s", event: EventData(type: "t", json: "{}")).lastPosition == 1)
            try await store.close()
        }
    }

    @Test("a TLS server: served with tls=true and caFile naming its certificate")
    func tls() async throws {
        let files = try await SelfSignedCertificate.make()
        defer { files.remove() }
        let (cert, key) = (files.certificate, files.privateKey)
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        try await NATSTestCluster.run(nodes: 1, extraConfig: "tls { cert_file: \"\(cert)\"\n key_file: \"\(key)\"\n timeout: 20 }",
                                      tls: trusting) { cluster in
            let url = "nats://127.0.0.1:\(cluster.nodes[0].port)/secure?tls=true&caFile=\(cert)"
            let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
            #expect(try await store.append(to: "s", event: EventData(type: "t", json: "{}")).lastPosition == 1)
            #expect(try await store.readAll().collect().count == 1)
            try await store.close()
        }
    }

    @Test("the NATS client logs a lost connection and the reconnect, through the logger the registry was given")
    func reconnectLogged() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let node = cluster.nodes[0]
            let log = InMemoryLogHandler()
            let url = "nats://127.0.0.1:\(node.port)/reconnects"
            let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create, logger: Logger(label: "test") { _ in log })
            _ = try await store.append(to: "s", event: EventData(type: "t", json: "{}"))
            await node.stop()
            try node.launch()
            try await node.waitReady()
            try await Wait.until("a logged reconnect", timeout: .seconds(60), interval: .milliseconds(50)) {
                log.entries.contains { "\($0.message)" == "NATS reconnected" }
            }
            #expect(log.entries.contains { "\($0.message)".hasPrefix("NATS connection lost") && $0.level == .warning })
            try? await store.close()
        }
    }
}
