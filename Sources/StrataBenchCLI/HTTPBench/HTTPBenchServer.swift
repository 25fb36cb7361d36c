import Foundation
import Logging
import ServiceLifecycle
import Strata
import StrataCommandLine
import StrataKurrent
import StrataServer

/// A Strata server on loopback in this process, over a fresh store in its own directory, for
/// the HTTP and gRPC (KurrentDB protocol) workloads of `strata bench-http`. Its rate limit is lifted and its subscriber limit
/// raised so that the load generator measures the server, not its limits.
struct HTTPBenchServer {
    let store: any EventStore
    let server: StrataHTTPServer
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let port: Int
    /// The port of the KurrentDB gRPC surface beside it.
    let grpcPort: Int
    let directory: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Opens a fresh store of the kind `url` names (its path is not used) and serves it.
    static func start(_ url: StoreURL, parent: String, subscribers: Int) async throws -> HTTPBenchServer {
        let directory = (parent as NSString).appendingPathComponent("strata-bench-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fresh: StoreURL = switch url.backend {
        case .memory: try StoreURL(parsing: "memory:")
        case .file: try StoreURL(parsing: "file:" + directory)
        case .sqlite: try StoreURL(parsing: "sqlite:" + (directory as NSString).appendingPathComponent("strata.db"))
        default: throw CommandFailure.usage("bench-http runs on fresh file:, sqlite: or memory: stores, not on \(url)")
        }
        let store = try await fresh.open(.create)
        var limits = ServerLimits()
        limits.maxSubscribersPerKey = subscribers + 16
        limits.requestsPerSecondPerKey = 1e12
        var logger = Logger(label: "strata.bench-http")
        logger.logLevel = .warning
        do {
            let server = try StrataHTTPServer(store: store, configuration: ServerConfiguration(port: 0, limits: limits), logger: logger)
            let grpc = StrataKurrentServer(http: server, port: 0)
            let group = ServiceGroup(configuration: .init(services: [server, grpc], logger: logger))
            let task = Task { try await group.run() }
            let port = try await server.waitUntilRunning()
            let grpcPort = try await grpc.waitUntilRunning()
            return HTTPBenchServer(store: store, server: server, group: group, task: task, port: port, grpcPort: grpcPort, directory: directory)
        } catch {
            try? await store.close()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Shuts the server down gracefully, closes the store and removes its directory.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The process's open-file limit, which 1,000 subscribers (two descriptors each on loopback:
/// the client's and the server's) can exceed.
enum FileDescriptorLimit {
    /// Raises the soft limit to at least `needed` (up to the hard limit); returns the limit now in force.
    @discardableResult
    static func raise(to needed: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0 else { return 0 }
        if limit.rlim_cur < rlim_t(needed) {
            limit.rlim_cur = min(rlim_t(needed), limit.rlim_max)
            _ = setrlimit(openFiles, &limit)
            _ = getrlimit(openFiles, &limit)
        }
        return Int(limit.rlim_cur)
    }

    #if canImport(Glibc)
    private static let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let openFiles = RLIMIT_NOFILE
    #endif
}
