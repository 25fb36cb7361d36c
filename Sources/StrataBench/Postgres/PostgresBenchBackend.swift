import Foundation
import PostgresNIO
import Strata
import StrataPostgres

/// The PostgreSQL backend: each workload "directory" maps to its own schema
/// (`strata_bench_<hash of the path>`), so that reopening a directory reopens its store.
/// Durability `.fsync` is `synchronous_commit = on`, `.none` is `off`.
public struct PostgresBenchBackend: BenchBackend {
    /// The server, as a `postgres://` URL (its `schema` option is ignored).
    public let url: String

    /// Creates the backend for a server.
    public init(url: String) { self.url = url }

    /// The backend's name in results.
    public var name: String { "postgres" }
    /// Stores persist in their schemas, so open-time workloads run.
    public var persists: Bool { true }

    /// Opens (creating) the store of `directory`'s schema.
    public func open(directory: String, durability: BenchDurability) async throws -> PostgresEventStore {
        var configuration = try PostgresConfiguration(url: url)
        configuration.schema = PostgresBench.schema(for: directory)
        configuration.synchronousCommit = durability == .fsync
        return try await PostgresEventStore(configuration: configuration)
    }
}

/// Helpers of the PostgreSQL workloads.
public enum PostgresBench {
    /// The schema-name prefix of every benchmark store; ``dropSchemas(url:)`` removes them.
    static let schemaPrefix = "strata_bench_"

    /// A schema name that is a function of a path (FNV-1a, 64 bits).
    static func schema(for path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return schemaPrefix + String(hash, radix: 16)
    }

    /// Runs `body` on one connection to the server at `url`.
    static func withConnection<T>(url: String, synchronousCommit: Bool = true,
                                  _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = try PostgresConfiguration(url: url)
        let tls: PostgresConnection.Configuration.TLS = configuration.tls == .disable
            ? .disable : .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        var connectionConfiguration = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: tls)
        connectionConfiguration.options.additionalStartupParameters = [("synchronous_commit", synchronousCommit ? "on" : "off")]
        let connection = try await PostgresConnection.connect(configuration: connectionConfiguration, id: 1, logger: configuration.logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs one statement and drains its rows.
    static func execute(_ sql: String, binds: PostgresBindings = PostgresBindings(), on connection: PostgresConnection) async throws -> [PostgresRow] {
        let rows: PostgresRowSequence = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: connection.logger)
        return try await rows.collect()
    }

    /// Drops every schema a benchmark run created on the server.
    public static func dropSchemas(url: String) async throws {
        try await withConnection(url: url) { connection in
            let rows = try await execute("SELECT nspname FROM pg_catalog.pg_namespace WHERE starts_with(nspname, $1)",
                                         binds: { var b = PostgresBindings(); b.append(schemaPrefix); return b }(), on: connection)
            for row in rows {
                let name = try row.decode(String.self)
                _ = try await execute("DROP SCHEMA \"\(name)\" CASCADE", on: connection)
            }
        }
    }
}
