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
                                      _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await leased(body)
            } catch let error as StrataError {
                throw error
            } catch {
                if isClosed { throw StrataError.storeClosed(reason: "close() was called") }
                if retrying && attempt < 4 && PostgresFailure.isConnectionLoss(error) {
                    attempt += 1
                    logger.warning("PostgreSQL connection lost; reconnecting", metadata: [
                        "operation": .string(operation), "attempt": .stringConvertible(attempt), "error": .string("\(error)"),
                    ])
                    try await Task.sleep(for: .milliseconds(50 << attempt))
                    continue
                }
                throw PostgresFailure.strataError(error, url: url, operation: operation)
            }
        }
    }

    /// Runs `body` on a pooled connection, waiting for one as long as the server can be
    /// reached: while no connection is leased, every ``PostgresConfiguration/connectTimeout``
    /// a probe connection checks the server, and when the probe fails the wait ends with its
    /// ``StrataError/io(path:operation:reason:)`` (connection refused, no answer…).
    ///
    /// postgres-nio's pool alone keeps a lease waiting while it retries connecting, until its
    /// circuit breaker trips after 60 s; a busy pool, on the other hand, is no reason to fail.
    /// `body` runs in a task of its own: the watchdog cancels only the wait for a lease, never
    /// a statement.
    func leased<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let lease = LeaseState()
        let client = self.client
        let work = Task {
            try await client.withConnection { connection in
                guard lease.markLeased() else { throw CancellationError() }
                return try await Task { try await body(connection) }.value
            }
        }
        let connector = self.connector, logger = self.logger, interval = configuration.connectTimeout
        let watchdog = Task {
            while !lease.isSettled {
                try await Task.sleep(for: interval)
                if lease.isSettled { return }
                do {
                    let probe = try await connector.connect(logger: logger)
                    try? await probe.close()
                } catch {
                    let failure = PostgresFailure.strataError(error, url: connector.configuration.displayURL, operation: "connect")
                    if lease.fail(with: failure) { work.cancel() }
                    return
                }
            }
        }
        defer { watchdog.cancel() }
        do {
            let value = try await work.value
            lease.settle()
            return value
        } catch {
            lease.settle()
            if let failure = lease.failure { throw failure }
            throw error
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

/// Whether a lease of ``PostgresStoreCore/leased(_:)`` came, or its wait failed first.
final class LeaseState: Sendable {
    private struct State {
        var leased = false
        var settled = false
        var failure: StrataError?
    }
    private let state = Mutex(State())

    /// Records the lease; false when the wait already failed (the connection goes back unused).
    func markLeased() -> Bool {
        state.withLock { s in
            if s.failure != nil { return false }
            s.leased = true
            return true
        }
    }

    /// Ends the wait with `failure` unless a connection was leased; returns whether it did.
    func fail(with failure: StrataError) -> Bool {
        state.withLock { s in
            if s.leased || s.settled { return false }
            s.failure = failure
            return true
        }
    }

    /// The work finished: the watchdog has nothing left to do.
    func settle() { state.withLock { $0.settled = true } }

    var isSettled: Bool { state.withLock { $0.settled || $0.leased || $0.failure != nil } }
    var failure: StrataError? { state.withLock { $0.failure } }
}
