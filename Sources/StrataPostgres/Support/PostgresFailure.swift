import PostgresNIO
import Strata

/// How the store reads errors from PostgreSQL and postgres-nio: which are worth a retry, which
/// mean the connection is gone, and the ``StrataError`` a caller sees for the rest.
enum PostgresFailure {
    /// The SQLSTATE of a server error, if it is one.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The server's message, if the error came from the server.
    static func serverMessage(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.message]
    }

    /// A conflict with a concurrent transaction of another process: the same event id or new
    /// stream inserted at once (unique violation), a deadlock, a serialization failure. The
    /// append transaction is simply run again; its planner then sees the other one's outcome.
    static func isConflict(_ error: any Error) -> Bool {
        switch sqlState(error) {
        case "23505", "40P01", "40001": true
        default: false
        }
    }

    /// The connection broke or the server is shutting down or starting up: a retry on a new
    /// connection may succeed.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        if error is PostgresConnectionGone { return true }
        if let state = sqlState(error) {
            // Class 08: connection exceptions; 57P01–57P03: admin shutdown, crash shutdown, cannot connect now.
            return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection, .messageDecodingFailure:
            return true
        default:
            return false
        }
    }

    /// The error a caller sees for a failure of `operation` on the store at `url`.
    static func strataError(_ error: any Error, url: String, operation: String) -> StrataError {
        if let error = error as? StrataError { return error }
        if error is PostgresConnectionGone {
            return .io(path: url, operation: operation, reason: "the server closed the connection")
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState] ?? "?"
                switch state {
                case "28P01", "28000":
                    return .io(path: url, operation: "authenticate",
                               reason: "\(message) (SQLSTATE \(state)); check the user and password in the URL")
                case "3D000":
                    return .io(path: url, operation: "open the database", reason: "\(message) (SQLSTATE \(state)); create it or fix the URL")
                case "42501":
                    return .io(path: url, operation: operation,
                               reason: "\(message) (SQLSTATE \(state)); the user needs CREATE on the database or USAGE on the schema")
                default:
                    return .io(path: url, operation: operation, reason: "\(message) (SQLSTATE \(state))")
                }
            }
            switch error.code {
            case .connectionError:
                let cause = error.underlying.map { "\($0)" } ?? "no route to the server"
                return .io(path: url, operation: "connect", reason: "\(cause); is the server running and the host and port right?")
            case .serverClosedConnection, .uncleanShutdown:
                return .io(path: url, operation: operation, reason: "the server closed the connection")
            case .authMechanismRequiresPassword:
                return .io(path: url, operation: "authenticate", reason: "the server asks for a password; put it in the URL")
            case .unsupportedAuthMechanism:
                return .io(path: url, operation: "authenticate", reason: "the server asks for an authentication method postgres-nio does not support")
            case .sslUnsupported:
                return .io(path: url, operation: "connect", reason: "the server does not offer TLS; use sslmode=prefer or disable")
            case .poolClosed, .clientClosedConnection:
                return .storeClosed(reason: "the connection pool was shut down")
            default:
                return .io(path: url, operation: operation, reason: "\(error.code)")
            }
        }
        return .io(path: url, operation: operation, reason: "\(error)")
    }
}
