import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Strata
import StrataConsumers
import StrataSchema
import StrataCommandLine
import StrataKurrent
import StrataServer
import StrataSQLite
import StrataStores

/// `strata serve`: the HTTP server over a store (docs/SERVER.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a store over HTTP: REST, Server-Sent Events, WebSocket, ingest, metrics and the admin page.",
        discussion: """
            Settings come from --config FILE (JSON, format version 1; see docs/SERVER.md), then \
            STRATA_API_KEYS (a JSON array of keys), then the options here. With no API key \
            configured the server binds to 127.0.0.1 only. Prints "listening URL" on stdout once \
            it accepts connections. SIGTERM or SIGINT shut it down gracefully: it stops \
            accepting, ends subscriptions, finishes requests in flight, closes the store and \
            exits with status 0.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The address to bind (default 127.0.0.1).", valueName: "HOST"))
    var host: String?

    @Option(help: ArgumentHelp("The port (default 2113; 0 picks a free one).", valueName: "PORT"))
    var port: Int?

    @Option(help: ArgumentHelp("A JSON configuration file.", valueName: "FILE"))
    var config: String?

    @Option(help: ArgumentHelp("A directory of consumer checkpoints to report lag from.", valueName: "DIR"))
    var checkpoints: String?

    @Flag(help: "Create the store when it does not exist (without it, a --store path or a configuration file's store that does not exist is an error: a typo must not create an empty store).")
    var create = false

    @Option(help: ArgumentHelp("A folder of event configs: appends whose events break them are refused (422 schema-violation, 400 for an undeclared type). Overrides the configuration file's schemasDirectory.", valueName: "DIR"))
    var schemas: String?

    @Option(name: .customLong("cdc"), help: ArgumentHelp("A collection whose writes through the server also record CDC changes (cdc-COLLECTION, with the previous document); repeat for several. Adds to the configuration file's cdcCollections.", valueName: "COLLECTION"))
    var cdcCollections: [String] = []

    @Option(help: ArgumentHelp("A folder of document snapshots served under /snapshots (without one those routes answer 501). Overrides the configuration file's snapshotsDirectory.", valueName: "DIR"))
    var snapshots: String?

    @Option(help: ArgumentHelp("A folder keeping the persistent subscription groups served under /subscriptions (a FileCheckpointStore). SQLite and PostgreSQL stores keep them in their own database without it; for other stores, without it those routes answer 501. Overrides the configuration file's subscriptionsDirectory.", valueName: "DIR"))
    var subscriptions: String?

    @Option(help: ArgumentHelp("This server's URL as clients and the other instances reach it: its name for the persistent subscription groups it runs, where the others redirect (307) requests for them. Default: http(s)://HOST:PORT as bound. Overrides the configuration file's advertisedURL.", valueName: "URL"))
    var advertise: String?

    @Option(name: .customLong("grpc-port"), help: ArgumentHelp("Also serve KurrentDB's gRPC client protocol (HTTP/2) on this port, so that KurrentDB/EventStoreDB clients work unchanged (docs/KURRENTDB.md); 0 picks a free one. Overrides the configuration file's grpcPort.", valueName: "PORT"))
    var grpcPort: Int?

    func run() async throws {
        var configuration = ServerConfiguration()
        var storeText = global.store
        if let config, let fileStore = try configuration.apply(file: config), global.store == StoreURL.defaultText {
            storeText = fileStore
        }
        try configuration.apply(environment: ProcessInfo.processInfo.environment)
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let checkpoints { configuration.checkpointDirectory = checkpoints }
        if let schemas { configuration.schemasDirectory = schemas }
        if let snapshots { configuration.snapshotsDirectory = snapshots }
        if let subscriptions { configuration.subscriptionsDirectory = subscriptions }
        if let advertise { configuration.advertisedURL = advertise }
        if let grpcPort { configuration.grpcPort = grpcPort }
        for collection in cdcCollections where !configuration.cdcCollections.contains(collection) { configuration.cdcCollections.append(collection) }
        try configuration.validate()
        let checked = try configuration.schemasDirectory.map { try EventSchemaSet(folder: URL(fileURLWithPath: $0)) }

        let logLevel = configuration.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "strata.serve")
        let tracing = try ServeTracing(configuration.tracing, logger: Logger(label: "strata.tracing"))
        // The default store is created on first use (the quick start); a store named on the
        // command line or in the configuration file must exist unless --create is given.
        let named = storeText != StoreURL.defaultText
        // One metrics registry for the server and the store: the log engine's metrics appear on /metrics.
        let registry = PrometheusCollectorRegistry()
        configuration.metricsRegistry = registry
        let location = try StoreURL(parsing: storeText)
        let opened = try await location.open(named && !create ? .existing : .create, logger: Logger(label: "strata.store"),
                                             metrics: PrometheusMetricsFactory(registry: registry))
        let store = tracing.store(checked.map { $0.validating(opened) } ?? opened, name: location.displayText)
        let server: StrataHTTPServer
        let checkpoints: (any CheckpointStore & LeaseStore & SubscriptionDefinitionStore)?
        do {
            if let subscriptions = configuration.subscriptionsDirectory {
                checkpoints = try FileCheckpointStore(directory: subscriptions)
            } else {
                checkpoints = try await StoreRegistry.sharedCheckpoints(of: opened)
            }
            if let checkpoints {
                configuration.persistentSubscriptions = PersistentSubscriptions(store: store, checkpoints: checkpoints,
                                                                                instance: instanceName(configuration))
            }
            server = try StrataHTTPServer(store: store, configuration: configuration, logger: logger)
        } catch {
            try? await store.close()
            throw error
        }
        // The SQLite checkpoint store has a connection of its own (PostgreSQL's shares the store's pool).
        let closeCheckpoints = { @Sendable () async in _ = try? await (checkpoints as? SQLiteCheckpointStore)?.close() }
        let usesTLS = configuration.tls != nil
        let announce = Task {
            let port = try await server.waitUntilRunning()
            StandardOutput.stdout.writeLine(Array("listening \(usesTLS ? "https" : "http")://\(server.host):\(port)".utf8), flushing: true)
        }
        let grpc = configuration.grpcPort.map { StrataKurrentServer(http: server, port: $0) }
        let announceGRPC = Task { [grpc] in
            guard let grpc else { return }
            let port = try await grpc.waitUntilRunning()
            StandardOutput.stdout.writeLine(Array("listening grpc\(usesTLS ? "+tls" : "")://\(grpc.host):\(port)".utf8), flushing: true)
        }
        defer { announceGRPC.cancel() }
        let services = tracing.services(with: server) + (grpc.map { [$0] } ?? [])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            announce.cancel()
            await closeCheckpoints()
            try? await store.close()
            throw error
        }
        announce.cancel()
        await closeCheckpoints()
        try await store.close()
        logger.info("Strata server stopped; the store is closed")
    }

    /// The name the persistent subscription registry runs its groups under: the advertised URL
    /// (`--advertise`, the file's `advertisedURL`), or `http(s)://HOST:PORT` as bound. With
    /// `--port 0` and no advertised URL the port is the kernel's pick, unknown until the server
    /// listens: the name is then `HOST pid N`, no URL, and other instances answer 409
    /// owned-elsewhere naming it instead of redirecting.
    private func instanceName(_ configuration: ServerConfiguration) -> String {
        if let advertised = configuration.advertisedURL { return advertised }
        let host = StrataHTTPServer.boundHost(configuration)
        guard configuration.port != 0 else { return "\(host) pid \(ProcessInfo.processInfo.processIdentifier)" }
        let literal = host.contains(":") ? "[\(host)]" : host
        return "\(configuration.tls == nil ? "http" : "https")://\(literal):\(configuration.port)"
    }
}
