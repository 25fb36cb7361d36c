import Foundation
import NIOSSL
import StrataNATS
#if canImport(Glibc)
import Glibc
#endif

/// A `nats-server` child process for tests: its own config, JetStream store directory and
/// loopback ports. Every test that starts one stops it, also when the test fails
/// (``NATSTestCluster/run(nodes:_:)``).
final class NATSServerProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart()`, called from the one test task.
    let name: String
    let port: Int
    let clusterPort: Int
    let directory: URL
    let configFile: URL
    private(set) var process: Process
    /// Credentials the readiness probe uses (for servers with authorization).
    var readinessAuth: NATSAuthentication?
    /// TLS settings the readiness probe uses (for servers that require TLS).
    var readinessTLS: TLSConfiguration?

    static var executable: String {
        ProcessInfo.processInfo.environment["STRATA_NATS_SERVER"]
            ?? ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first { FileManager.default.fileExists(atPath: $0) }
            ?? "nats-server"
    }

    /// Whether tests may skip: only when STRATA_NATS_UNAVAILABLE=1 says so explicitly.
    static var isEnabled: Bool { ProcessInfo.processInfo.environment["STRATA_NATS_UNAVAILABLE"] != "1" }

    init(name: String, port: Int, clusterPort: Int, routes: [Int], directory: URL, extraConfig: String = "") throws {
        self.name = name
        self.port = port
        self.clusterPort = clusterPort
        self.directory = directory
        self.configFile = directory.appendingPathComponent("\(name).conf")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("\(name)-js"), withIntermediateDirectories: true)
        var config = """
        server_name: \(name)
        listen: 127.0.0.1:\(port)
        max_payload: 8MB
        jetstream {
          store_dir: "\(directory.appendingPathComponent("\(name)-js").path)"
          max_memory_store: 256MB
          max_file_store: 2GB
        }

        """
        config += extraConfig + "\n"
        if !routes.isEmpty {
            config += """
            cluster {
              name: strata
              listen: 127.0.0.1:\(clusterPort)
              routes: [\(routes.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ", "))]
            }

            """
        }
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        process = Process()
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    func launch() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.executable)
        p.arguments = ["-c", configFile.path]
        let log = directory.appendingPathComponent("\(name).log")
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        process = p
    }

    /// SIGKILL, and wait for the process to be gone.
    func kill() async {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        await waitExit()
    }

    /// SIGTERM (SIGKILL after 5 s), and wait for the process to be gone.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        await kill()
    }

    private func waitExit() async {
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Polls until the server answers a JetStream API request, for at most `timeout`.
    func waitReady(timeout: Duration = .seconds(90)) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError = "not tried"
        while ContinuousClock.now < deadline {
            if !process.isRunning { throw NATSTestError("nats-server \(name) exited: \(tail())") }
            do {
                var config = try NATSConfiguration(urls: [url])
                config.connectTimeout = .seconds(10)
                config.maxReconnectRounds = 1
                if let auth = readinessAuth { config.authentication = auth }
                config.tls = readinessTLS
                let c = try await NATSConnection.connect(config)
                defer { Task { try? await c.close() } }
                let reply = try await c.request("$JS.API.INFO", payload: [UInt8](), timeout: .seconds(10))
                let text = String(decoding: reply.payload.readableBytesView, as: UTF8.self)
                if !text.contains("\"error\"") { return }
                lastError = text
            } catch {
                lastError = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NATSTestError("nats-server \(name) not ready within \(timeout): \(lastError)\n\(tail())")
    }

    func tail() -> String {
        let log = (try? String(contentsOf: directory.appendingPathComponent("\(name).log"), encoding: .utf8)) ?? ""
        return String(log.suffix(2000))
    }
}

struct NATSTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One node or a cluster of nodes on free loopback ports, in one temporary directory.
final class NATSTestCluster: Sendable {
    let nodes: [NATSServerProcess]
    let directory: URL

    var urls: [String] { nodes.map(\.url) }

    private init(nodes: [NATSServerProcess], directory: URL) {
        self.nodes = nodes
        self.directory = directory
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NATSTestError("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NATSTestError("bind() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts `nodes` servers (a cluster with routes when more than one), runs `body`, and stops
    /// every server whatever happens.
    static func run<T: Sendable>(nodes count: Int, extraConfig: String = "", auth: NATSAuthentication? = nil, tls: TLSConfiguration? = nil, _ body: (NATSTestCluster) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var ports: [Int] = []
        var clusterPorts: [Int] = []
        for _ in 0 ..< count { ports.append(try freePort()); clusterPorts.append(try freePort()) }
        var nodes: [NATSServerProcess] = []
        for i in 0 ..< count {
            nodes.append(try NATSServerProcess(name: "n\(i + 1)", port: ports[i], clusterPort: clusterPorts[i],
                                               routes: count > 1 ? clusterPorts : [], directory: dir, extraConfig: extraConfig))
        }
        for n in nodes { n.readinessAuth = auth; n.readinessTLS = tls }
        let cluster = NATSTestCluster(nodes: nodes, directory: dir)
        do {
            for n in nodes { try n.launch() }
            for n in nodes { try await n.waitReady() }
            let result = try await body(cluster)
            await cluster.stopAll()
            return result
        } catch {
            await cluster.stopAll()
            throw error
        }
    }

    func stopAll() async {
        for n in nodes { await n.stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs a command to completion without blocking a thread; throws when it fails.
func runCommand(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = ContinuousClock.now + timeout
    while p.isRunning {
        if ContinuousClock.now > deadline { p.terminate(); throw NATSTestError("\(executable) \(arguments) timed out") }
        try await Task.sleep(for: .milliseconds(20))
    }
    guard p.terminationStatus == 0 else { throw NATSTestError("\(executable) \(arguments) exited with \(p.terminationStatus)") }
}

/// A self-signed certificate for localhost and 127.0.0.1 (openssl) in a new temporary
/// directory: the paths of the certificate and the key, and the directory to remove.
func selfSignedCertificate() async throws -> (certificate: String, key: String, directory: URL) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-nats-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
    try await runCommand("/usr/bin/env", ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                          "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    return (cert, key, dir)
}
