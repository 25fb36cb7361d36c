import Foundation
import NIOSSL
import StrataNATS
import StrataTestSupport

/// A `nats-server` child process for tests: its own config, JetStream store directory and
/// loopback ports. Every test that starts one stops it, also when the test fails
/// (``NATSTestCluster/run(nodes:_:)``).
final class NATSServerProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `launch()`, called from the one test task.
    let name: String
    let port: Int
    let clusterPort: Int
    let directory: URL
    let configFile: URL
    /// Whether the server runs JetStream (readiness is then a JetStream API answer, else a PONG).
    let jetStream: Bool
    private(set) var process: ChildProcess?
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

    init(name: String, port: Int, clusterPort: Int, routes: [Int], directory: URL, extraConfig: String = "", jetStream: Bool = true) throws {
        self.name = name
        self.port = port
        self.clusterPort = clusterPort
        self.directory = directory
        self.jetStream = jetStream
        self.configFile = directory.appendingPathComponent("\(name).conf")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("\(name)-js"), withIntermediateDirectories: true)
        var config = """
        server_name: \(name)
        listen: 127.0.0.1:\(port)
        max_payload: 8MB

        """
        if jetStream {
            config += """
            jetstream {
              store_dir: "\(directory.appendingPathComponent("\(name)-js").path)"
              max_memory_store: 256MB
              max_file_store: 2GB
            }

            """
        }
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
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts (or starts again) the server; what it prints is kept by its ``ChildProcess``.
    func launch() throws {
        process = try ChildProcess.start(Self.executable, ["-c", configFile.path])
    }

    /// SIGKILL, and wait for the process to be gone.
    func kill() async {
        try? await process?.kill()
    }

    /// SIGTERM (SIGKILL after 5 s), and wait for the process to be gone.
    func stop() async {
        _ = try? await process?.stop(grace: .seconds(5))
    }

    /// Polls until the server answers a JetStream API request (a PING without JetStream), for at
    /// most `timeout`.
    func waitReady(timeout: Duration = .seconds(90)) async throws {
        var lastError = "not tried"
        do {
            try await Wait.until("nats-server \(name) to answer", timeout: timeout, interval: .milliseconds(100)) {
                if process?.isRunning != true { throw NATSTestError("nats-server \(name) exited: \(tail())") }
                do {
                    var config = try NATSConfiguration(urls: [url])
                    config.connectTimeout = .seconds(10)
                    config.maxReconnectRounds = 1
                    if let auth = readinessAuth { config.authentication = auth }
                    config.tls = readinessTLS
                    let c = try await NATSConnection.connect(config)
                    defer { Task { try? await c.close() } }
                    if !jetStream {
                        try await c.flush(timeout: .seconds(10))
                        return true
                    }
                    let reply = try await c.request("$JS.API.INFO", payload: [UInt8](), timeout: .seconds(10))
                    let text = String(decoding: reply.payload.readableBytesView, as: UTF8.self)
                    if !text.contains("\"error\"") { return true }
                    lastError = text
                } catch {
                    lastError = "\(error)"
                }
                return false
            }
        } catch is TimedOut {
            throw NATSTestError("nats-server \(name) not ready within \(timeout): \(lastError)\n\(tail())")
        }
    }

    /// The end of what the server printed.
    func tail() -> String {
        String(((process?.stdout ?? "") + (process?.stderr ?? "")).suffix(2000))
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

    /// Starts `nodes` servers (a cluster with routes when more than one), runs `body`, and stops
    /// every server whatever happens.
    static func run<T: Sendable>(nodes count: Int, extraConfig: String = "", jetStream: Bool = true, auth: NATSAuthentication? = nil, tls: TLSConfiguration? = nil,
                                 _ body: (NATSTestCluster) async throws -> T) async throws -> T {
        let dir = try TemporaryDirectory("nats").url
        var ports: [Int] = []
        var clusterPorts: [Int] = []
        for _ in 0 ..< count { ports.append(try LoopbackPort.free()); clusterPorts.append(try LoopbackPort.free()) }
        var nodes: [NATSServerProcess] = []
        for i in 0 ..< count {
            nodes.append(try NATSServerProcess(name: "n\(i + 1)", port: ports[i], clusterPort: clusterPorts[i],
                                               routes: count > 1 ? clusterPorts : [], directory: dir, extraConfig: extraConfig, jetStream: jetStream))
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
