import Logging
import PostgresNIO
import Strata
import Synchronization

/// What the parts of one store share: the configuration, the schema and its statements, the
/// connection pool, and whether the store is closed.
final class PostgresStoreCore: Sendable {
    let configuration: PostgresConfiguration
    let schema: PostgresSchema
    let sql: SchemaStatements
    let client: PostgresClient
    let logger: Logger
    let connector: PostgresConnector
    private let closed = Atomic<Bool>(false)

    init(configuration: PostgresConfiguration, client: PostgresClient) {
        self.configuration = configuration
        self.schema = PostgresSchema(name: configuration.schema)
        self.sql = SchemaStatements(schema: schema)
        self.client = client
        self.logger = configuration.logger
        self.connector = PostgresConnector(configuration: configuration)
    }

    /// The store's address without its password.
    var url: String { configuration.displayURL }

    /// Whether ``markClosed()`` was called.
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Throws ``StrataError/storeClosed(reason:)`` once the store is closed.
    func checkOpen() throws {
        if isClosed { throw StrataError.storeClosed(reason: "close() was called") }
    }

    /// Marks the store closed; returns whether it was open.
    func markClosed() -> Bool {
        !closed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Runs `body` on a pooled connection. Work that can be repeated safely (reads, upserts)
    /// passes `retrying: true` and is run again on a fresh connection when the connection
    /// breaks, a few times within about a second; every other failure becomes a
    /// ``StrataError``.
    ///
    /// The work runs in its own task, shielded from the caller's cancellation: a statement is
    /// short, and a cancelled subscription must end with `nil` after its read, not with the
    /// error an interrupted connection lease would give.
    func withConnection<T: Sendable>(_ operation: String, retrying: Bool = true,
                                     _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try checkOpen()
        return try await Task { try await attempt(operation, retrying: retrying, body) }.value
    }

    private func attempt<T: Sendable>(_ operation: String, retrying: Bool,
                                      _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await client.withConnection { connection in try await body(connection) }
            } catch let error as StrataError {
                throw error
            } catch {
                if isClosed { throw StrataError.storeClosed(reason: "close() was called") }
                if retrying && attempt < 4 && PostgresFailure.isConnectionLoss(error) {
                    attempt += 1
                    logger.debug("\(operation): connection lost, retrying (attempt \(attempt))")
                    try await Task.sleep(for: .milliseconds(50 << attempt))
                    continue
                }
                throw PostgresFailure.strataError(error, url: url, operation: operation)
            }
        }
    }

    /// Runs `body` inside BEGIN … COMMIT on `connection`; ROLLBACK when it throws.
    static func inTransaction<T>(_ connection: PostgresConnection, logger: Logger,
                                 _ body: () async throws -> T) async throws -> T {
        try await connection.run("BEGIN", logger: logger)
        let value: T
        do {
            value = try await body()
        } catch {
            try? await connection.run("ROLLBACK", logger: logger)
            throw error
        }
        try await connection.run("COMMIT", logger: logger)
        return value
    }
}
