import Logging
import NIOSSL

/// One server of a cluster: `nats://host:port` (or `tls://host:port`, which requires TLS).
public struct NATSServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The client port (4222 by default).
    public var port: Int
    /// Whether the URL asked for TLS (`tls://`).
    public var requiresTLS: Bool
    /// Credentials given in the URL (`nats://user:pass@host`), if any.
    public var user: String?
    /// The password of the URL, if any.
    public var password: String?

    /// Creates an address.
    public init(host: String, port: Int = 4222, requiresTLS: Bool = false) {
        self.host = host
        self.port = port
        self.requiresTLS = requiresTLS
    }

    /// Parses `nats://[user:pass@]host[:port]`, `tls://…` or `host:port`.
    /// - Throws: ``NATSError/invalidArgument(_:)`` for anything else.
    public init(url: String) throws {
        var rest = Substring(url)
        var tls = false
        if rest.hasPrefix("nats://") { rest = rest.dropFirst(7) } else if rest.hasPrefix("tls://") { rest = rest.dropFirst(6); tls = true }
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = cred.firstIndex(of: ":") {
                user = String(cred[..<colon])
                password = String(cred[cred.index(after: colon)...])
            } else {
                user = String(cred)
            }
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var host = rest
        var port = 4222
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else {
                throw NATSError.invalidArgument("bad port in NATS URL \(url.debugDescription)")
            }
            port = p
            host = rest[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains("/") else { throw NATSError.invalidArgument("bad NATS URL \(url.debugDescription)") }
        self.host = String(host)
        self.port = port
        self.requiresTLS = tls
    }

    public var description: String { "\(requiresTLS ? "tls" : "nats")://\(host):\(port)" }
}

/// How to authenticate.
///
/// The NKEY and JWT forms sign the `nonce` of the server's `INFO` with the seed's Ed25519 key;
/// the seed itself never leaves the process. A seed that does not decode fails
/// ``NATSConnection/connect(_:group:)`` with ``NATSError/invalidCredentials(_:)`` before any
/// server is contacted.
public enum NATSAuthentication: Sendable, Hashable {
    /// No credentials (or those of the server URLs).
    case none
    /// `user` and `pass` in CONNECT.
    case userPassword(user: String, password: String)
    /// `auth_token` in CONNECT.
    case token(String)
    /// An NKEY user (a server's `authorization { users = [{ nkey: "U…" }] }`): the user seed
    /// (`SU…`); CONNECT carries its public key (`nkey`) and the signed nonce (`sig`).
    case nkey(seed: String)
    /// A user of decentralized (operator/account JWT) authentication: the user JWT and the user
    /// seed (`SU…`) it was issued for; CONNECT carries `jwt` and the signed nonce (`sig`).
    /// ``credentialsFile(path:)`` reads both from an `nsc`-style `.creds` file.
    case credentials(jwt: String, seed: String)
}

/// The settings of a ``NATSConnection``; every field has a default but the servers.
///
/// ```swift
/// var config = NATSConfiguration(servers: [try NATSServerAddress(url: "nats://127.0.0.1:4222")])
/// config.authentication = .token("s3cret")
/// let connection = try await NATSConnection.connect(config)
/// ```
public struct NATSConfiguration: Sendable {
    /// The seed servers; servers the cluster announces (`connect_urls`) are added as they come.
    public var servers: [NATSServerAddress]
    /// Credentials.
    public var authentication: NATSAuthentication = .none
    /// TLS settings; `nil` means plain TCP unless a server or a `tls://` URL requires TLS, in
    /// which case the default client configuration (system trust roots) is used.
    public var tls: TLSConfiguration?
    /// The client name shown by the server's monitoring.
    public var name = "strata"
    /// How long one connection attempt (TCP, INFO, CONNECT, first PONG) may take.
    public var connectTimeout: Duration = .seconds(5)
    /// The default time a request waits for its reply.
    public var requestTimeout: Duration = .seconds(5)
    /// The first pause between reconnect rounds; doubled each round up to ``maxReconnectWait``.
    public var reconnectWait: Duration = .milliseconds(50)
    /// The longest pause between reconnect rounds.
    public var maxReconnectWait: Duration = .seconds(2)
    /// Reconnect rounds (each tries every known server) before giving up; `nil`: until `close()`.
    public var maxReconnectRounds: Int? = nil
    /// How long a publish waits for a connection while reconnecting.
    public var reconnectBufferTimeout: Duration = .seconds(10)
    /// Messages a subscription buffers before it drops and reports ``NATSError/slowConsumer(subject:dropped:)``.
    public var subscriptionBufferLimit = 65_536
    /// How often the client pings an idle server; two unanswered pings end the connection.
    public var pingInterval: Duration = .seconds(10)
    /// Where the client reports lost connections, reconnects and giving up; nil: nothing is logged.
    public var logger: Logger?

    /// Creates a configuration for these servers.
    public init(servers: [NATSServerAddress]) {
        self.servers = servers
    }

    /// Creates a configuration from URLs (`nats://host:port`, comma-separated lists allowed).
    /// - Throws: ``NATSError/invalidArgument(_:)`` for a bad URL or none.
    public init(urls: [String]) throws {
        let addresses = try urls.flatMap { $0.split(separator: ",") }.map { try NATSServerAddress(url: String($0)) }
        guard !addresses.isEmpty else { throw NATSError.invalidArgument("no NATS server URL given") }
        self.servers = addresses
        if let first = addresses.first(where: { $0.user != nil }), let user = first.user {
            if let password = first.password {
                authentication = .userPassword(user: user, password: password)
            } else {
                authentication = .token(user)
            }
        }
    }
}
