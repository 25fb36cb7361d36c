/// Every error of the NATS client.
public enum NATSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No server of the list could be reached (the last reason is given).
    case connectionFailed(String)
    /// The server refused the credentials (`-ERR 'Authorization Violation'`).
    case authorizationFailed(String)
    /// The server sent `-ERR`.
    case serverError(String)
    /// The server sent something that is not the NATS protocol.
    case protocolViolation(String)
    /// The connection was lost while a request waited; it may have reached the server.
    case connectionLost
    /// `close()` was called.
    case closed
    /// A request got no reply in time.
    case timedOut(String)
    /// No subscriber for the request's subject (status 503).
    case noResponders(subject: String)
    /// A subscription's buffer overflowed: this many messages were dropped.
    case slowConsumer(subject: String, dropped: Int)
    /// Credentials that cannot be used: an NKEY seed that does not decode or has a bad checksum,
    /// a credentials file that cannot be read or lacks its JWT or seed block. The message says
    /// which file and what is wrong, never the seed.
    case invalidCredentials(String)
    /// An argument the protocol cannot carry (a subject with spaces, a payload over `max_payload` …).
    case invalidArgument(String)
    /// A JetStream API call failed: the API's `code`, `err_code` and description.
    case jetStream(code: Int, errorCode: Int, description: String)

    public var description: String {
        switch self {
        case .connectionFailed(let r): "could not connect to any NATS server: \(r)"
        case .authorizationFailed(let r): "the NATS server refused the credentials: \(r)"
        case .serverError(let r): "the NATS server reported an error: \(r)"
        case .protocolViolation(let r): "NATS protocol violation: \(r)"
        case .connectionLost: "the connection to the NATS server was lost before the reply came"
        case .closed: "the NATS connection is closed"
        case .timedOut(let what): "timed out: \(what)"
        case .noResponders(let s): "no responders for \(s): is JetStream enabled and the stream present?"
        case .slowConsumer(let s, let n): "slow consumer on \(s): \(n) messages dropped; consume faster or raise the buffer"
        case .invalidCredentials(let r): "invalid NATS credentials: \(r)"
        case .invalidArgument(let r): "invalid argument: \(r)"
        case .jetStream(let code, let err, let d): "JetStream error \(code)/\(err): \(d)"
        }
    }

    /// JetStream's `err_code` for "wrong last sequence" (`Nats-Expected-Last-Sequence` or
    /// `Nats-Expected-Last-Subject-Sequence` failed).
    public static let wrongLastSequenceCode = 10071
    /// JetStream's `err_code` for "no message found".
    public static let noMessageFoundCode = 10037
    /// JetStream's `err_code` for "stream not found".
    public static let streamNotFoundCode = 10059
}
