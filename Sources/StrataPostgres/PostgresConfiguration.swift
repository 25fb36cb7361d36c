import Foundation
import Logging
import Strata

/// Where and how a ``PostgresEventStore`` connects. A value type with defaults, parsed from a
/// store URL or built field by field, and passed once.
///
/// ```swift
/// let configuration = try PostgresConfiguration(url: "postgres://app:secret@db.internal:5432/events?schema=billing")
/// let store = try await PostgresEventStore(configuration: configuration)
/// ```
///
/// URL form: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=MODE&pool=N&passwordFile=PATH]`
/// (`postgresql://` works too). User, password and database are percent-decoded.
public struct PostgresConfiguration: Sendable {
    /// Whether to encrypt the connection.
    public enum TLSMode: String, Sendable, Hashable {
        /// Never use TLS.
        case disable
        /// Use TLS when the server offers it (its certificate is verified), plain otherwise. The default.
        case prefer
        /// Require TLS with a verified certificate.
        case require
    }

    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The user to connect as.
    public var username: String
    /// The password, if the server asks for one.
    public var password: String?
    /// The database to open.
    public var database: String
    /// The schema that holds this store's tables. Several stores live side by side in one
    /// database under different schemas. Lower-case letters, digits and `_`, starting with a
    /// letter or `_`, at most ``maxSchemaNameLength`` bytes.
    public var schema: String
    /// Whether to encrypt connections.
    public var tls: TLSMode
    /// The most pooled connections (reads, appends, deletes, checkpoints). The listener
    /// connection comes on top. Default 8.
    public var maximumConnections: Int
    /// How many group-commit transactions one store may run at once. Each takes a pooled
    /// connection; a second one prepares its batch while the first commits, but commits stay
    /// serial and the appends split between two transactions, so one (the default) is
    /// usually fastest.
    public var writerCount: Int
    /// The most events one group-commit transaction takes from the queue (an append larger
    /// than this still goes in one transaction of its own). Default 2,000.
    public var maxEventsPerTransaction: Int
    /// How often a waiting subscription checks the head when no notification came: the bound
    /// on the delay a lost notification causes. Default 250 ms.
    public var pollInterval: Duration
    /// How long to wait for the server when connecting. Default 5 s.
    public var connectTimeout: Duration
    /// Whether a commit waits for its WAL to reach disk (PostgreSQL's `synchronous_commit`,
    /// set on the store's connections). `false` trades the last few hundred milliseconds of
    /// appends on a server crash for throughput; ordering and atomicity are unchanged. Default true.
    public var synchronousCommit: Bool
    /// Per-event limits.
    public var limits: EventLimits
    /// Where the store logs connection trouble (reconnects, retries). Silent by default.
    public var logger: Logger

    /// The default schema name.
    public static let defaultSchema = "strata"
    /// The longest schema name accepted (the notification channel adds a prefix to it).
    public static let maxSchemaNameLength = 48

    /// Creates a configuration from its parts.
    public init(host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil,
                database: String, schema: String = PostgresConfiguration.defaultSchema, tls: TLSMode = .prefer,
                maximumConnections: Int = 8, writerCount: Int = 1, maxEventsPerTransaction: Int = 2_000,
                pollInterval: Duration = .milliseconds(250), connectTimeout: Duration = .seconds(5),
                synchronousCommit: Bool = true, limits: EventLimits = .default,
                logger: Logger = Logger(label: "strata.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.writerCount = writerCount
        self.maxEventsPerTransaction = maxEventsPerTransaction
        self.pollInterval = pollInterval
        self.connectTimeout = connectTimeout
        self.synchronousCommit = synchronousCommit
        self.limits = limits
        self.logger = logger
    }

    /// Parses a `postgres://` URL.
    ///
    /// The password can stay off the command line: `?passwordFile=PATH` reads it from a file
    /// (its first line), and a URL without a password takes `PGPASSWORD` from `environment`
    /// (libpq's variable).
    ///
    /// - Throws: ``StrataError/unknownStoreURL(_:)`` when the text is not a `postgres://` or
    ///   `postgresql://` URL; ``StrataError/invalidArgument(_:)`` for a bad port, schema name,
    ///   `sslmode`, pool size or an unreadable password file.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw StrataError.unknownStoreURL(PostgresConfiguration.redacted(text))
        }
        let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        let username = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        var path = components.percentEncodedPath
        if path.hasPrefix("/") { path.removeFirst() }
        let database = path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? username
        self.init(host: host, port: components.port ?? 5432, username: username, password: password, database: database)
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "schema":
                schema = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw StrataError.invalidArgument("sslmode must be disable, prefer or require, not \"\(value)\"")
                }
                tls = mode
            case "pool":
                guard let n = Int(value) else { throw StrataError.invalidArgument("pool must be a number of connections, not \"\(value)\"") }
                maximumConnections = n
            case "passwordFile":
                guard let contents = try? String(contentsOfFile: value, encoding: .utf8) else {
                    throw StrataError.invalidArgument("cannot read the password file \(value)")
                }
                self.password = String(contents.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            default:
                throw StrataError.invalidArgument("unknown postgres URL option \"\(item.name)\"; known: schema, sslmode, pool, passwordFile")
            }
        }
        if self.password == nil, let fromEnvironment = environment["PGPASSWORD"], !fromEnvironment.isEmpty {
            self.password = fromEnvironment
        }
        try validate()
    }

    /// Checks every setting; called when a store opens.
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming the setting.
    public func validate() throws {
        guard (1...65_535).contains(port) else { throw StrataError.invalidArgument("port \(port) is not between 1 and 65535") }
        if let problem = PostgresConfiguration.schemaNameProblem(schema) {
            throw StrataError.invalidArgument("schema name \"\(schema)\" \(problem)")
        }
        guard maximumConnections >= 2 else {
            throw StrataError.invalidArgument("maximumConnections must be at least 2 (a writer and a reader), not \(maximumConnections)")
        }
        guard (1...maximumConnections - 1).contains(writerCount) else {
            throw StrataError.invalidArgument("writerCount must be between 1 and maximumConnections - 1, not \(writerCount)")
        }
        guard maxEventsPerTransaction >= 1 else {
            throw StrataError.invalidArgument("maxEventsPerTransaction must be positive, not \(maxEventsPerTransaction)")
        }
        guard pollInterval > .zero, connectTimeout > .zero else {
            throw StrataError.invalidArgument("pollInterval and connectTimeout must be positive")
        }
    }

    /// What is wrong with a schema name, if anything.
    static func schemaNameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "is empty" }
        if bytes.count > maxSchemaNameLength { return "is longer than \(maxSchemaNameLength) bytes" }
        func isLetter(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || b == 0x5F }
        guard isLetter(bytes[0]), bytes.allSatisfy({ isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            return "must be lower-case letters, digits and _, starting with a letter or _"
        }
        if name.hasPrefix("pg_") { return "must not start with pg_ (reserved by PostgreSQL)" }
        return nil
    }

    /// The store's address without the password, for messages and `stats()`.
    public var displayURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(hostPart):\(port)/\(database)?schema=\(schema)"
    }

    /// A URL with its password replaced, for error messages.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }
}
