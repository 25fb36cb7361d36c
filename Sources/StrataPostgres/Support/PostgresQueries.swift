import Logging
import PostgresNIO
import Synchronization

/// Bind values for a query built from text (the schema name is part of every statement, so
/// statements are `PostgresQuery(unsafeSQL:binds:)` with `$n` placeholders).
func binds(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values { try bindings.append(value) }
    return bindings
}

extension PostgresConnection {
    /// Runs a statement and drains its rows. The explicit result type keeps Swift from picking
    /// the `EventLoopFuture` overload, which would not wait for the statement.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await guardedQuery(query, logger: logger)
        for try await _ in rows {}
    }

    /// Runs a query and returns every row.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await guardedQuery(query, logger: logger).collect()
    }

    /// `query(_:logger:)`, failing with ``PostgresConnectionGone`` when the connection is closed
    /// before the statement reaches it.
    ///
    /// postgres-nio hands a query to its channel without a write promise: on a channel that
    /// closed while no statement ran (a backend ended by `pg_terminate_backend`, whose FATAL
    /// arrives while the connection is idle in a transaction), the query is dropped and its
    /// promise never completed, so the caller would wait forever (postgres-nio #487, reverted in
    /// #501). Every statement of the store goes through here: it fails at once on a closed
    /// connection, and a close that races the hand-over ends the wait through `closeFuture`.
    /// The abandoned query's task is then left waiting (one small task per lost connection).
    private func guardedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        if isClosed { throw PostgresConnectionGone() }
        let outcome = OnceResult<PostgresRowSequence>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.install(continuation)
            let ticket = ClosingConnections.shared.watch(self, outcome)
            Task {
                let result: Result<PostgresRowSequence, any Error>
                do {
                    result = .success(try await self.query(query, logger: logger))
                } catch {
                    result = .failure(error)
                }
                ClosingConnections.shared.unwatch(self, ticket)
                outcome.resume(with: result)
            }
        }
    }
}

/// The connection closed before a statement could run on it (see `guardedQuery`): a connection
/// loss, retried like one.
struct PostgresConnectionGone: Error, CustomStringConvertible {
    var description: String { "the connection to the server was closed" }
}

/// A continuation resumed by the first of several racers; later results are dropped.
final class OnceResult<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<T, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}

/// The statements waiting on each open connection: one `closeFuture` callback per connection
/// (not per statement, which would pile up on a long-lived connection) fails every statement
/// still waiting when the connection closes.
final class ClosingConnections: Sendable {
    static let shared = ClosingConnections()

    private struct State {
        var waiting: [ObjectIdentifier: [UInt64: OnceResult<PostgresRowSequence>]] = [:]
        var nextTicket: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Registers a waiting statement; returns the ticket that ``unwatch(_:_:)`` takes.
    func watch(_ connection: PostgresConnection, _ outcome: OnceResult<PostgresRowSequence>) -> UInt64 {
        let key = ObjectIdentifier(connection)
        let (ticket, first) = state.withLock { s -> (UInt64, Bool) in
            s.nextTicket &+= 1
            let first = s.waiting[key] == nil
            s.waiting[key, default: [:]][s.nextTicket] = outcome
            return (s.nextTicket, first)
        }
        if first {
            connection.closeFuture.whenComplete { [self] _ in
                let stranded = state.withLock { $0.waiting.removeValue(forKey: key) } ?? [:]
                for outcome in stranded.values { outcome.resume(with: .failure(PostgresConnectionGone())) }
            }
        }
        return ticket
    }

    /// The statement finished (or failed) by itself.
    func unwatch(_ connection: PostgresConnection, _ ticket: UInt64) {
        let key = ObjectIdentifier(connection)
        state.withLock { _ = $0.waiting[key]?.removeValue(forKey: ticket) }
    }
}

/// Strings PostgreSQL's `text` cannot hold as they are: it refuses U+0000. Content types, tags,
/// consumer names and error texts are application strings that may (in theory) contain it, so
/// they are stored through this reversible, injective escape: U+0001 becomes U+0001 U+0001 and
/// U+0000 becomes U+0001 `0`. Strings without either character (all real ones) are unchanged
/// and cost one scan.
enum StoredText {
    static func encode(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 <= 1 }) else { return s }
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count + 4)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0: out.unicodeScalars.append("\u{1}"); out.unicodeScalars.append("0")
            case 1: out.unicodeScalars.append("\u{1}"); out.unicodeScalars.append("\u{1}")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func decode(_ s: String) -> String {
        guard s.utf8.contains(1) else { return s }
        var out = ""
        var escaped = false
        for scalar in s.unicodeScalars {
            if escaped {
                out.unicodeScalars.append(scalar == "0" ? "\u{0}" : scalar)
                escaped = false
            } else if scalar.value == 1 {
                escaped = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A `LIKE` pattern matching every string that starts with `prefix`, byte for byte (columns
/// use the "C" collation). PostgreSQL turns it into an index range when the prefix is known at
/// planning time, which it is for unnamed statements.
func likePrefixPattern(_ prefix: String) -> String {
    var pattern = ""
    for character in prefix.unicodeScalars {
        if character == "\\" || character == "%" || character == "_" { pattern.unicodeScalars.append("\\") }
        pattern.unicodeScalars.append(character)
    }
    return pattern + "%"
}
