import Foundation
import Logging
import PostgresNIO
import Strata
import Synchronization
import Testing
@testable import StrataPostgres

/// The PostgreSQL cluster the tests use: `STRATA_TEST_POSTGRES_URL`, set by scripts/test.sh
/// (through scripts/postgres.sh). Without it every PostgreSQL test is skipped, so a plain
/// `swift test` still passes.
enum PostgresTest {
    static let environment = ProcessInfo.processInfo.environment
    /// The server's URL, without a schema.
    static let url: String? = environment["STRATA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// Whether a server is available.
    static let isEnabled = url != nil
    /// scripts/postgres.sh, to start private clusters (the restart test).
    static let script: String? = environment["STRATA_TEST_POSTGRES_SCRIPT"].flatMap { $0.isEmpty ? nil : $0 }

    /// A schema name no other test uses.
    static func newSchema(_ label: String) -> String {
        "t_\(label)_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
    }

    /// A configuration for a fresh schema on the test server, with a small pool (many stores
    /// run at once).
    static func configuration(schema: String, url: String? = nil, limits: EventLimits = .default) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: try #require(url ?? self.url) + "?schema=\(schema)&sslmode=disable")
        configuration.maximumConnections = 4
        configuration.limits = limits
        if environment["STRATA_TEST_LOG"] != nil {
            // STRATA_TEST_LOG=1: the store's and postgres-nio's messages on stderr.
            var logger = Logger(label: "strata.postgres.test", factory: { StreamLogHandler.standardError(label: $0) })
            logger.logLevel = .debug
            configuration.logger = logger
        }
        return configuration
    }

    /// Opens a store in `schema` (created on first use).
    static func openStore(schema: String, url: String? = nil, limits: EventLimits = .default) async throws -> PostgresEventStore {
        try await PostgresEventStore(configuration: configuration(schema: schema, url: url, limits: limits))
    }

    /// Runs `body` on a plain connection to the test server (no store).
    static func withConnection<T: Sendable>(url: String? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = try self.configuration(schema: "public", url: url)
        let connection = try await PostgresConnector(configuration: configuration).connect(logger: configuration.logger)
        do {
            let value = try await body(connection)
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Drops test schemas.
    static func dropSchemas(_ schemas: [String], url: String? = nil) async {
        guard !schemas.isEmpty else { return }
        try? await withConnection(url: url) { connection in
            for schema in schemas {
                try await connection.run(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"), logger: connection.logger)
            }
        }
    }

    /// Runs a statement on a plain connection.
    static func execute(_ sql: String, url: String? = nil) async throws {
        try await withConnection(url: url) { connection in
            try await connection.run(PostgresQuery(unsafeSQL: sql), logger: connection.logger)
        }
    }

    /// Events with a sequence number in their data.
    static func events(_ count: Int, from first: Int = 0, writer: String = "test") -> [EventData] {
        (0..<count).map { EventData(type: "test-event", json: #"{"writer":"\#(writer)","seq":\#(first + $0)}"#) }
    }

    /// Checks that `events` hold positions 1…n without a gap and each stream's revisions 1… without a gap.
    static func expectContiguous(_ events: [RecordedEvent], sourceLocation: SourceLocation = #_sourceLocation) {
        let expected: [UInt64] = events.isEmpty ? [] : Array(1...UInt64(events.count))
        #expect(events.map(\.position) == expected, "positions are not 1…\(events.count) without a gap", sourceLocation: sourceLocation)
        var last: [String: UInt64] = [:]
        for event in events {
            #expect(event.revision == (last[event.stream] ?? 0) + 1,
                    "stream \(event.stream) jumps to revision \(event.revision) at position \(event.position)", sourceLocation: sourceLocation)
            last[event.stream] = event.revision
        }
    }
}

/// Stores of one test, each in its own schema, dropped at the end.
final class SchemaTracker: Sendable {
    private let schemas = Mutex<[String]>([])

    func newSchema(_ label: String) -> String {
        let schema = PostgresTest.newSchema(label)
        schemas.withLock { $0.append(schema) }
        return schema
    }

    func dropAll() async {
        await PostgresTest.dropSchemas(schemas.withLock { s in defer { s.removeAll() }; return s })
    }
}
