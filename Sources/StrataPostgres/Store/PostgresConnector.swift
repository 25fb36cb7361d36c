import Logging
import PostgresNIO
import Strata
import Synchronization

/// Turns a ``PostgresConfiguration`` into postgres-nio configurations, and opens single
/// connections (the bootstrap and the listener) with a deadline and readable errors.
struct PostgresConnector: Sendable {
    let configuration: PostgresConfiguration
    private static let connectionIDs = Atomic<Int>(1_000_000)

    /// The pool's configuration.
    func clientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch configuration.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var client = PostgresClient.Configuration(host: configuration.host, port: configuration.port, username: configuration.username,
                                                  password: configuration.password, database: configuration.database, tls: tls)
        client.options.maximumConnections = configuration.maximumConnections
        client.options.minimumConnections = 0
        client.options.connectTimeout = configuration.connectTimeout
        client.options.keepAliveBehavior = .init(frequency: .seconds(30))
        client.options.additionalStartupParameters = startupParameters
        return client
    }

    /// Settings sent with every connection's startup message.
    var startupParameters: [(String, String)] {
        [("synchronous_commit", configuration.synchronousCommit ? "on" : "off"), ("application_name", "strata")]
    }

    /// Opens one connection outside the pool.
    ///
    /// - Throws: ``StrataError/io(path:operation:reason:)`` naming the step that failed
    ///   (connect, authenticate, open the database), with the server's message.
    func connect(logger: Logger) async throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch configuration.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw StrataError.io(path: configuration.displayURL, operation: "set up TLS", reason: "\(error)")
        }
        var connectionConfiguration = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: tls)
        connectionConfiguration.options.additionalStartupParameters = startupParameters
        let timeout = configuration.connectTimeout.components
        connectionConfiguration.options.connectTimeout = .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000)
        let finalConfiguration = connectionConfiguration
        let id = Self.connectionIDs.add(1, ordering: .relaxed).newValue
        let url = configuration.displayURL
        let deadline = configuration.connectTimeout
        // The connect timeout covers the TCP connect only; the deadline also bounds a server
        // that accepts and then never answers the startup.
        return try await withThrowingTaskGroup(of: PostgresConnection?.self) { group in
            group.addTask {
                do {
                    return try await PostgresConnection.connect(configuration: finalConfiguration, id: id, logger: logger)
                } catch {
                    throw PostgresFailure.strataError(error, url: url, operation: "connect")
                }
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let connection = first else {
                throw StrataError.io(path: url, operation: "connect", reason: "no answer within \(deadline); is the server running and the host and port right?")
            }
            return connection
        }
    }
}
