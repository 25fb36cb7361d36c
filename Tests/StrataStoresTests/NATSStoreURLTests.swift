import Foundation
import InMemoryLogging
import Logging
import Strata
import StrataStores
import Testing

/// `nats://` store URLs against a real nats-server with a token and with TLS (loopback, bounded).
@Suite("nats: stores on a real server", .serialized, .enabled(if: NATSServerProcess.binary != nil, "nats-server is not installed"))
struct NATSStoreURLTests {
    @Test("a server that wants a token: refused without it, served with STRATA_NATS_TOKEN")
    func token() async throws {
        // A configuration file rather than --auth: its timeout (default 2 s) for a client to
        // authenticate is raised, since a loaded CI machine can be slower than that.
        let server = try await NATSServerProcess.start(config: "authorization { token: \"s3cret-token\", timeout: 20 }")
        defer { server.stop() }
        let url = "nats://127.0.0.1:\(server.port)/tokens?maxEventSize=900000"
        await #expect(throws: (any Error).self) {
            let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
            try? await store.close()
        }
        let store = try await StoreRegistry.standard(environment: ["STRATA_NATS_TOKEN": "s3cret-token"]).open(url, access: .create)
        let result = try await store.append(to: "s", event: EventData(type: "t", json: "{}"))
        #expect(result.lastPosition == 1)
        try await store.close()
    }

    @Test("the NATS client logs a lost connection and the reconnect, through the logger the registry was given")
    func reconnectLogged() async throws {
        let log = InMemoryLogHandler()
        var server = try await NATSServerProcess.start(config: "")
        let port = server.port
        let url = "nats://127.0.0.1:\(port)/reconnects?maxEventSize=900000"
        let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create, logger: Logger(label: "test") { _ in log })
        _ = try await store.append(to: "s", event: EventData(type: "t", json: "{}"))
        server.stop()
        server = try await NATSServerProcess.start(config: "", port: port)
        defer { server.stop() }
        let deadline = ContinuousClock.now + .seconds(30)
        while !log.entries.contains(where: { "\($0.message)" == "NATS reconnected" }) {
            try #require(ContinuousClock.now < deadline, "no reconnect logged: \(log.entries.map { "\($0.message)" })")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(log.entries.contains { "\($0.message)".hasPrefix("NATS connection lost") && $0.level == .warning })
        try? await store.close()
    }

    @Test("a TLS server: served with tls=true and caFile naming its certificate")
    func tls() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-nats-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1",
                             "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let server = try await NATSServerProcess.start(
            config: "tls { cert_file: \"\(directory)/cert.pem\", key_file: \"\(directory)/key.pem\", timeout: 20 }")
        defer { server.stop() }
        let url = "nats://127.0.0.1:\(server.port)/secure?maxEventSize=900000&tls=true&caFile=\(directory)/cert.pem"
        let store = try await StoreRegistry.standard(environment: [:]).open(url, access: .create)
        let result = try await store.append(to: "s", event: EventData(type: "t", json: "{}"))
        #expect(result.lastPosition == 1)
        var read: [RecordedEvent] = []
        for try await e in store.readAll() { read.append(e) }
        #expect(read.count == 1)
        try await store.close()
    }
}

/// One nats-server with JetStream on a free loopback port, stopped by its PID.
final class NATSServerProcess: @unchecked Sendable {
    static let binary: String? = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    let process = Process()
    let port: Int
    let storeDirectory: String

    private init(port: Int, storeDirectory: String) {
        self.port = port
        self.storeDirectory = storeDirectory
    }

    /// Starts a server with `config` (nats-server configuration text) added to its settings.
    static func start(config: String, port fixedPort: Int? = nil) async throws -> NATSServerProcess {
        let binary = try #require(binary)
        let port = try fixedPort ?? freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-nats-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configFile = directory + "/nats.conf"
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        let server = NATSServerProcess(port: port, storeDirectory: directory)
        server.process.executableURL = URL(fileURLWithPath: binary)
        server.process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", directory + "/js", "-c", configFile]
        server.process.standardOutput = FileHandle.nullDevice
        server.process.standardError = FileHandle.nullDevice
        try server.process.run()
        // Ready once the port accepts connections (bounded).
        let deadline = ContinuousClock.now + .seconds(20)
        while !canConnect(port) {
            guard ContinuousClock.now < deadline, server.process.isRunning else {
                server.stop()
                throw CocoaError(.fileReadUnknown)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return server
    }

    func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CocoaError(.fileWriteUnknown) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
