import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Strata
import StrataServer
import StrataTestSupport
import Testing

@Suite("TLS")
struct TLSTests {
    @Test("with a certificate and key the server speaks HTTPS: append and read work for a client that trusts the certificate, plain HTTP fails")
    func httpsAppendAndRead() async throws {
        let files = try await SelfSignedCertificate.make()
        defer { files.remove() }
        let configuration = ServerConfiguration(port: 0, tls: .init(certificate: files.certificate, privateKey: files.privateKey))
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }

        // Full verification (chain and host name) against the test's certificate as the only root.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        tls.certificateVerification = .fullVerification
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, connectionPool: .init()))
        defer { Task { try? await client.shutdown() } }
        let base = "https://127.0.0.1:\(server.port)"

        var append = HTTPClientRequest(url: base + "/streams/secure-1")
        append.method = .POST
        append.headers.add(name: "Content-Type", value: "application/json")
        append.body = .bytes(ByteBuffer(string: #"{"expectedRevision":"no-stream","events":[{"type":"opened","data":{"n":1}},{"type":"closed","data":{"n":2}}]}"#))
        let appended = try await client.execute(append, timeout: .seconds(20))
        let appendBody = try await appended.body.collect(upTo: 1 << 20)
        #expect(appended.status == .ok)
        #expect(String(buffer: appendBody).contains(#""firstRevision":1,"lastRevision":2"#))

        let read = try await client.execute(HTTPClientRequest(url: base + "/streams/secure-1?from=start&limit=10"), timeout: .seconds(20))
        let readBody = try await read.body.collect(upTo: 1 << 20)
        #expect(read.status == .ok)
        let page = try #require(try JSONSerialization.jsonObject(with: Data(readBody.readableBytesView)) as? [String: Any])
        let events = try #require(page["events"] as? [[String: Any]])
        #expect(events.map { $0["type"] as? String } == ["opened", "closed"])
        #expect(events.map { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2])
        // What went over TLS reached the store.
        #expect(try await server.store.streamInfo("secure-1").lastRevision == 2)

        // A client that does not trust the certificate is refused by its own verification.
        let untrusting = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await untrusting.shutdown() } }
        await #expect(throws: (any Error).self) {
            _ = try await untrusting.execute(HTTPClientRequest(url: base + "/health/live"), timeout: .seconds(20))
        }

        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain: HTTPClientResponse?
        do {
            plain = try await HTTPTestClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/health/live"), timeout: .seconds(20))
        } catch {
            plain = nil
        }
        #expect(plain == nil, "plain HTTP to the TLS port answered \(plain.map { "\($0.status)" } ?? "")")
    }

    /// A client limited to TLS versions up to `maximum` asks `/health/live`; returns whether it got an answer.
    static func answers(port: Int, certificate: String, maximum: TLSVersion) async throws -> Bool {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        tls.minimumTLSVersion = .tlsv1
        tls.maximumTLSVersion = maximum
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, connectionPool: .init()))
        defer { Task { try? await client.shutdown() } }
        do {
            let response = try await client.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/health/live"), timeout: .seconds(20))
            return response.status == .ok
        } catch {
            return false
        }
    }

    @Test("TLS 1.2 is the minimum by default (a TLS 1.1 client is refused); minimumVersion 1.3 refuses a TLS 1.2 client")
    func minimumVersion() async throws {
        let files = try await SelfSignedCertificate.make()
        defer { files.remove() }
        let server = try await TestServer(configuration: ServerConfiguration(port: 0, tls: .init(certificate: files.certificate, privateKey: files.privateKey)))
        #expect(try await Self.answers(port: server.port, certificate: files.certificate, maximum: .tlsv12))
        #expect(try await !Self.answers(port: server.port, certificate: files.certificate, maximum: .tlsv11))
        await server.stop()

        let strict = try await TestServer(configuration: ServerConfiguration(
            port: 0, tls: .init(certificate: files.certificate, privateKey: files.privateKey, minimumVersion: "1.3")))
        defer { Task { await strict.stop() } }
        #expect(try await Self.answers(port: strict.port, certificate: files.certificate, maximum: .tlsv13))
        #expect(try await !Self.answers(port: strict.port, certificate: files.certificate, maximum: .tlsv12))
    }

    @Test("a minimumVersion other than 1.2 or 1.3 is refused when the configuration is checked")
    func badMinimumVersion() throws {
        let configuration = ServerConfiguration(port: 0, tls: .init(certificate: "c.pem", privateKey: "k.pem", minimumVersion: "1.0"))
        #expect(throws: StrataError.self) { try configuration.validate() }
    }
}
