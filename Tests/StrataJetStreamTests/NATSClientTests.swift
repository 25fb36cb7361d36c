import Foundation
import NIOCore
import NIOSSL
import StrataTestSupport
import Testing
@testable import StrataNATS

func connect(_ urls: [String], _ tweak: (inout NATSConfiguration) -> Void = { _ in }) async throws -> NATSConnection {
    var config = try NATSConfiguration(urls: urls)
    config.reconnectWait = .milliseconds(20)
    config.maxReconnectWait = .milliseconds(200)
    tweak(&config)
    return try await NATSConnection.connect(config)
}

@Suite("NATS client against nats-server", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct NATSClientTests {
    @Test("publish, subscribe with wildcards, headers, request/reply and unsubscribe")
    func coreProtocol() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let a = try await connect(cluster.urls)
            let b = try await connect(cluster.urls)
            let sub = try await b.subscribe(to: "orders.*")
            try await b.flush()
            var h = NATSHeaders()
            h["Trace"] = "t-1"
            try await a.publish("orders.1", payload: Array("one".utf8))
            try await a.publish("orders.2", payload: Array("two".utf8), headers: h)
            try await a.publish("other.3", payload: Array("no".utf8))
            var it = sub.makeAsyncIterator()
            let m1 = try #require(try await it.next())
            let m2 = try #require(try await it.next())
            #expect(m1.subject == "orders.1" && String(decoding: m1.bytes, as: UTF8.self) == "one" && m1.headers == nil)
            #expect(m2.subject == "orders.2" && m2.headers?["Trace"] == "t-1")

            // Request/reply: a responder on b answers through a's shared inbox.
            let service = try await b.subscribe(to: "svc.echo")
            try await b.flush()
            let responder = Task {
                for try await m in service {
                    try await b.publish(m.replyTo!, payload: Array("echo:".utf8) + m.bytes)
                }
            }
            let replies = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0 ..< 20 {
                    group.addTask { String(decoding: try await a.request("svc.echo", payload: Array("\(i)".utf8)).bytes, as: UTF8.self) }
                }
                var out: [String] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(Set(replies) == Set((0 ..< 20).map { "echo:\($0)" }))
            await #expect(throws: NATSError.noResponders(subject: "")) {
                do { _ = try await a.request("nobody.home", payload: [UInt8]()) } catch NATSError.noResponders { throw NATSError.noResponders(subject: "") }
            }
            await #expect(throws: NATSError.self) { try await a.publish("bad subject", payload: [UInt8]()) }

            await sub.unsubscribe()
            try await a.publish("orders.9", payload: Array("late".utf8))
            try await a.flush()
            #expect(try await it.next() == nil)
            responder.cancel()
            try await a.close()
            try await b.close()
        }
    }

    @Test("user/password and token authentication; wrong credentials are refused")
    func authentication() async throws {
        let user = NATSAuthentication.userPassword(user: "strata", password: "s3cret")
        try await NATSTestCluster.run(nodes: 1, extraConfig: "authorization { user: strata, password: s3cret, timeout: 20 }", auth: user) { cluster in
            let ok = try await connect(cluster.urls) { $0.authentication = user }
            try await ok.flush()
            try await ok.close()
            let inURL = try await connect(["nats://strata:s3cret@127.0.0.1:\(cluster.nodes[0].port)"])
            try await inURL.flush()
            try await inURL.close()
            await #expect(throws: NATSError.self) {
                _ = try await connect(cluster.urls) { $0.authentication = .userPassword(user: "strata", password: "wrong") }
            }
        }
        try await NATSTestCluster.run(nodes: 1, extraConfig: "authorization { token: tok-42, timeout: 20 }", auth: .token("tok-42")) { cluster in
            let ok = try await connect(cluster.urls) { $0.authentication = .token("tok-42") }
            try await ok.flush()
            try await ok.close()
            await #expect(throws: NATSError.self) { _ = try await connect(cluster.urls) }
        }
    }

    @Test("TLS: the client upgrades after INFO, verifies the server's certificate and talks through it")
    func tls() async throws {
        let files = try await SelfSignedCertificate.make()
        defer { files.remove() }
        let (cert, key) = (files.certificate, files.privateKey)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cert))
        try await NATSTestCluster.run(nodes: 1, extraConfig: "tls { cert_file: \"\(cert)\"\n key_file: \"\(key)\" }", tls: tls) { cluster in
            let c = try await connect(cluster.urls) { $0.tls = tls }
            #expect(c.serverInfo?.tlsRequired == true)
            let sub = try await c.subscribe(to: "secure")
            try await c.flush()
            try await c.publish("secure", payload: Array("over TLS".utf8))
            #expect(try await sub.next(timeout: .seconds(30)).map { String(decoding: $0.bytes, as: UTF8.self) } == "over TLS")
            try await c.close()
            // Without the certificate in its trust roots the client refuses the server.
            await #expect(throws: NATSError.self) { _ = try await connect(cluster.urls) }
        }
    }

    @Test("a slow consumer's overflow is reported, then delivery goes on")
    func slowConsumer() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let c = try await connect(cluster.urls) { $0.subscriptionBufferLimit = 10 }
            let sub = try await c.subscribe(to: "flood")
            try await c.flush()
            for i in 0 ..< 50 { try await c.publish("flood", payload: Array("\(i)".utf8)) }
            try await c.flush()
            var it = sub.makeAsyncIterator()
            await #expect(throws: NATSError.slowConsumer(subject: "flood", dropped: 40)) { _ = try await it.next() }
            var got: [String] = []
            for _ in 0 ..< 10 { got.append(String(decoding: try #require(try await it.next()).bytes, as: UTF8.self)) }
            #expect(got == (0 ..< 10).map(String.init))
            try await c.close()
        }
    }

    @Test("after the server restarts the client reconnects and resubscribes")
    func reconnect() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let c = try await connect(cluster.urls)
            let sub = try await c.subscribe(to: "after.restart")
            try await c.flush()
            await cluster.nodes[0].kill()
            try cluster.nodes[0].launch()
            try await cluster.nodes[0].waitReady()
            try await Wait.until("the client to reconnect", timeout: .seconds(60), interval: .milliseconds(20)) { c.reconnectCount >= 1 }
            try await c.flush()
            try await c.publish("after.restart", payload: Array("back".utf8))
            let m = try await sub.next(timeout: .seconds(30))
            #expect(m.map { String(decoding: $0.bytes, as: UTF8.self) } == "back")
            try await c.close()
        }
    }
}
