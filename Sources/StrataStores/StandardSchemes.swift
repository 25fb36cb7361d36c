import Foundation
import Logging
import Strata
import StrataClient
import StrataJetStream
import StrataLog
import StrataPostgres
import StrataSQLite
import NIOSSL
import StrataNATS

extension StoreRegistry {
    /// Every backend of this package: `file:`, `sqlite:`, `memory:`, `postgres://`, `nats://`
    /// and `http(s)://`.
    /// - Parameter environment: where `http(s)://` stores find their API key
    ///   (`STRATA_API_KEY`: keys stay out of URLs, which end up in logs and shell histories).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> StoreRegistry {
        var registry = StoreRegistry()
        registry.register(.file)
        registry.register(.sqlite)
        registry.register(.memory)
        registry.register(.postgres)
        registry.register(.nats(environment: environment))
        registry.register(.http(apiKey: environment["STRATA_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }))
        return registry
    }
}

extension StoreScheme {
    /// `file:PATH[?OPTIONS]` (or `file://PATH`): the embedded log engine in a directory. The
    /// options set its ``StrataLog/LogConfiguration`` (docs/CLI.md): `durability=fsync|none|interval`
    /// with `syncMilliseconds=N`, `segmentSize=BYTES` (suffixes K, M, G), `rollDaily=true`,
    /// `compress=true`, `retentionMaxAge=SECONDS`, `retentionMaxBytes=BYTES`, `maxEventSize=BYTES`.
    public static let file = StoreScheme(
        backend: .file, prefixes: ["file:"], summary: "file:PATH[?durability=…&segmentSize=…&compress=…] — the embedded log engine in a directory",
        parse: { text in
            let (rest, options) = splitOptions(text)
            let path = try localPath(rest, prefix: "file:")
            _ = try logConfiguration(options)
            let query = options.keys.sorted().map { "\($0)=\(options[$0]!)" }.joined(separator: "&")
            return StoreLocation(backend: .file, address: path, displayText: "file:\(path)" + (query.isEmpty ? "" : "?" + query), options: options)
        },
        exists: { isDirectory($0.address) == true },
        open: { location, access, telemetry in
            var configuration = try logConfiguration(location.options)
            configuration.readOnly = access == .readOnly
            return try LogEventStore(directory: location.address, configuration: configuration,
                                     logger: telemetry.logger, metrics: telemetry.metrics)
        })

    /// The text before `?`, and the `key=value` pairs after it.
    static func splitOptions(_ text: String) -> (String, [String: String]) {
        guard let question = text.firstIndex(of: "?") else { return (text, [:]) }
        var options: [String: String] = [:]
        for pair in text[text.index(after: question)...].split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            options[parts[0]] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
        }
        return (String(text[..<question]), options)
    }

    /// The log engine's settings from `file:` URL options.
    /// - Throws: ``Strata/StrataError/invalidArgument(_:)`` naming an unknown option or a bad value.
    public static func logConfiguration(_ options: [String: String]) throws -> LogConfiguration {
        var configuration = LogConfiguration()
        var retention = LogRetention()
        func number(_ key: String, _ value: String) throws -> Int64 {
            let multipliers: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
            var digits = value.uppercased(), multiplier: Int64 = 1
            if let last = digits.last, let m = multipliers[last] { multiplier = m; digits.removeLast() }
            guard let n = Int64(digits), n > 0 else { throw StrataError.invalidArgument("\(key) must be a positive number of bytes (suffixes K, M, G), not \"\(value)\"") }
            return n * multiplier
        }
        for (key, value) in options {
            switch key {
            case "durability":
                switch value {
                case "fsync": configuration.durability = .fsync
                case "none": configuration.durability = .none
                case "interval": configuration.durability = .interval(milliseconds: Int(options["syncMilliseconds"] ?? "5") ?? 5)
                default: throw StrataError.invalidArgument("durability must be fsync, interval or none, not \"\(value)\"")
                }
            case "syncMilliseconds":
                guard let n = Int(value), n > 0 else { throw StrataError.invalidArgument("syncMilliseconds must be a positive number, not \"\(value)\"") }
                guard options["durability"] == "interval" else { throw StrataError.invalidArgument("syncMilliseconds goes with durability=interval") }
            case "segmentSize": configuration.segmentSize = Int(try number(key, value))
            case "rollDaily", "compress":
                guard value == "true" || value == "false" else { throw StrataError.invalidArgument("\(key) must be true or false, not \"\(value)\"") }
                if key == "rollDaily" { configuration.rollDaily = value == "true" } else { configuration.compressSealedSegments = value == "true" }
            case "retentionMaxAge":
                guard let seconds = Double(value), seconds > 0 else { throw StrataError.invalidArgument("retentionMaxAge must be a positive number of seconds, not \"\(value)\"") }
                retention.maxAge = seconds
            case "retentionMaxBytes": retention.maxBytes = try number(key, value)
            case "maxEventSize": configuration.limits.maxEventSize = Int(try number(key, value))
            default:
                throw StrataError.invalidArgument("unknown file: store option \"\(key)\"; use durability, syncMilliseconds, segmentSize, rollDaily, compress, retentionMaxAge, retentionMaxBytes or maxEventSize")
            }
        }
        if retention.maxAge != nil || retention.maxBytes != nil { configuration.retention = retention }
        return configuration
    }

    /// `sqlite:PATH` (or `sqlite://PATH`): one SQLite database file.
    public static let sqlite = StoreScheme(
        backend: .sqlite, prefixes: ["sqlite:"], summary: "sqlite:PATH — one SQLite database file",
        parse: { text in
            let path = try localPath(text, prefix: "sqlite:")
            guard !path.hasSuffix("/") else { throw StrataError.unknownStoreURL(text) }
            return StoreLocation(backend: .sqlite, address: path, displayText: "sqlite:\(path)")
        },
        exists: { isDirectory($0.address) == false },
        open: { location, _, _ in try SQLiteEventStore(path: location.address) })

    /// `memory:`: a fresh in-memory store; nothing persists.
    public static let memory = StoreScheme(
        backend: .memory, prefixes: ["memory:"], summary: "memory: — a fresh in-memory store (nothing persists)",
        parse: { text in
            guard text == "memory:" || text == "memory://" else { throw StrataError.unknownStoreURL(text) }
            return StoreLocation(backend: .memory, address: "", displayText: "memory:")
        },
        open: { _, _, _ in InMemoryEventStore() })

    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&sslmode=…]` (also
    /// `postgresql://`): a PostgreSQL schema, created or migrated on open.
    public static let postgres = StoreScheme(
        backend: .postgres, prefixes: ["postgres://", "postgresql://"],
        summary: "postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME] — a PostgreSQL schema",
        parse: { text in
            let configuration = try PostgresConfiguration(url: text)
            return StoreLocation(backend: .postgres, address: text, displayText: configuration.displayURL)
        },
        open: { location, _, telemetry in
            var configuration = try PostgresConfiguration(url: location.address)
            if let logger = telemetry.logger { configuration.logger = logger }
            return try await PostgresEventStore(configuration: configuration)
        })

    /// `nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT][,HOST[:PORT]…]/STORE[?OPTIONS]`: the JetStream
    /// store `STORE` (stream `STRATA_<STORE>`) on a NATS server or cluster. Options: `replicas`
    /// (1, 3 or 5; when the stream is created), `maxEventSize` (bytes: servers whose
    /// `max_payload` is below 4 MiB + 64 KiB need it; NATS's default is 1 MiB), `tls=true` (TLS to
    /// every server, verified against the system's roots) and `caFile=PATH` (verified against
    /// that CA instead). Credentials can stay off the command line: without any in the URL, the
    /// first of these set in `environment` is used: `STRATA_NATS_CREDS` (the path of an `nsc`
    /// credentials file: user JWT and seed), `STRATA_NATS_NKEY` (the path of a file holding an
    /// NKEY user seed), `STRATA_NATS_TOKEN`, `STRATA_NATS_USER` (with `STRATA_NATS_PASSWORD`).
    public static func nats(environment: [String: String]) -> StoreScheme {
        StoreScheme(
            backend: .nats, prefixes: ["nats://"],
            summary: "nats://[USER:PASSWORD@]HOST[:PORT][,HOST…]/STORE[?replicas=N&maxEventSize=BYTES&tls=true&caFile=PATH] — a JetStream store",
            parse: { text in
                _ = try natsConfiguration(text, environment: environment)
                return StoreLocation(backend: .nats, address: text, displayText: try natsParts(text).display)
            },
            open: { location, _, telemetry in
                var configuration = try natsConfiguration(location.address, environment: environment)
                configuration.nats.logger = telemetry.logger
                return try await JetStreamEventStore.open(configuration)
            })
    }

    /// The JetStream configuration of a `nats://` URL.
    static func natsConfiguration(_ text: String, environment: [String: String] = [:]) throws -> JetStreamStoreConfiguration {
        let (urls, store, _) = try natsParts(text)
        let (name, options) = splitOptions(store)
        var tls = false
        var caFile: String?
        var configuration = try JetStreamStoreConfiguration(urls: urls, store: name)
        for (key, value) in options {
            switch key {
            case "replicas":
                guard let n = Int(value), [1, 3, 5].contains(n) else { throw StrataError.invalidArgument("replicas must be 1, 3 or 5, not \(value)") }
                configuration.replicas = n
            case "maxEventSize":
                guard let n = Int(value), n > 0 else { throw StrataError.invalidArgument("maxEventSize must be a positive number of bytes, not \(value)") }
                configuration.limits.maxEventSize = n
            case "tls":
                guard value == "true" || value == "false" else { throw StrataError.invalidArgument("tls must be true or false, not \(value)") }
                tls = value == "true"
            case "caFile":
                guard FileManager.default.isReadableFile(atPath: value) else { throw StrataError.invalidArgument("cannot read the CA file \(value)") }
                caFile = value
            default:
                throw StrataError.invalidArgument("unknown JetStream store URL option \"\(key)\"; use replicas, maxEventSize, tls or caFile")
            }
        }
        if tls || caFile != nil {
            for index in configuration.nats.servers.indices { configuration.nats.servers[index].requiresTLS = true }
            var client = TLSConfiguration.makeClientConfiguration()
            if let caFile {
                do { client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                    throw StrataError.invalidArgument("the CA file \(caFile) holds no PEM certificate: \(error)")
                }
            }
            configuration.nats.tls = client
        }
        if case .none = configuration.nats.authentication {
            configuration.nats.authentication = try natsAuthentication(environment: environment)
        }
        return configuration
    }

    /// The connection settings and the JetStream stream name of a `nats://…/STREAM` URL naming a
    /// stream of any application (the source of `strata import --from eventbase`): the same
    /// servers, credentials (from the URL or `environment`) and `tls`/`caFile` options as a store
    /// URL, with `STREAM` taken as is (no `STRATA_` prefix).
    /// - Throws: ``Strata/StrataError/invalidArgument(_:)`` for a malformed URL or option.
    public static func natsSource(_ text: String, environment: [String: String] = [:]) throws -> (nats: NATSConfiguration, stream: String) {
        let (_, rest, _) = try natsParts(text)
        let (stream, _) = splitOptions(rest)
        guard !stream.isEmpty else { throw StrataError.invalidArgument("the URL names no JetStream stream: nats://HOST:PORT/STREAM, not \(text)") }
        return (try natsConfiguration(text, environment: environment).nats, stream)
    }

    /// The credentials `environment` names, in this order: `STRATA_NATS_CREDS` (a credentials
    /// file), `STRATA_NATS_NKEY` (a file holding a user seed), `STRATA_NATS_TOKEN`,
    /// `STRATA_NATS_USER` and `STRATA_NATS_PASSWORD`; `.none` when none is set (empty counts as unset).
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming the variable and the file when a
    ///   file cannot be read or holds no valid credentials.
    static func natsAuthentication(environment: [String: String]) throws -> NATSAuthentication {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let files: [(String, (String) throws -> NATSAuthentication)] = [
            ("STRATA_NATS_CREDS", NATSAuthentication.credentialsFile(path:)), ("STRATA_NATS_NKEY", NATSAuthentication.nkeyFile(path:)),
        ]
        for (name, load) in files {
            guard let path = value(name) else { continue }
            do { return try load(path) } catch let e as NATSError { throw StrataError.invalidArgument("\(name): \(e.description)") }
        }
        if let token = value("STRATA_NATS_TOKEN") { return .token(token) }
        if let user = value("STRATA_NATS_USER") { return .userPassword(user: user, password: environment["STRATA_NATS_PASSWORD"] ?? "") }
        return .none
    }

    /// `http://HOST:PORT` or `https://HOST:PORT`: a Strata server (`strata serve`), with
    /// `apiKey` sent as `Authorization: Bearer`.
    public static func http(apiKey: String?) -> StoreScheme {
        StoreScheme(
            backend: .http, prefixes: ["http://", "https://"],
            summary: "http(s)://HOST:PORT — a Strata server (its key from STRATA_API_KEY)",
            parse: { text in
                var base = text
                while base.hasSuffix("/") { base.removeLast() }
                guard let url = URL(string: base), url.host != nil, url.path.isEmpty, url.user == nil else {
                    throw StrataError.invalidArgument("a server store URL is http(s)://HOST:PORT with no path or credentials (the key comes from STRATA_API_KEY), not \(text)")
                }
                return StoreLocation(backend: .http, address: base, displayText: base)
            },
            open: { location, _, _ in try RemoteEventStore(url: location.address, apiKey: apiKey) })
    }

    /// The path of a `file:`/`sqlite:` URL.
    static func localPath(_ text: String, prefix: String) throws -> String {
        var path = String(text.dropFirst(prefix.count))
        if path.hasPrefix("//") { path.removeFirst(2) }
        guard !path.isEmpty else { throw StrataError.unknownStoreURL(text) }
        return path
    }

    /// Whether `path` is a directory (true), a file (false), or missing (nil).
    static func isDirectory(_ path: String) -> Bool? {
        var directory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &directory) else { return nil }
        return directory.boolValue
    }

    /// The server URLs, the store name (with any `?options`), and the URL without its password.
    static func natsParts(_ text: String) throws -> (urls: [String], store: String, display: String) {
        let rest = text.dropFirst("nats://".count)
        guard let slash = rest.firstIndex(of: "/") else {
            throw StrataError.invalidArgument("a JetStream store URL names its store: nats://HOST:PORT/STORE, not \(text)")
        }
        var servers = String(rest[..<slash])
        let store = String(rest[rest.index(after: slash)...])
        var credentials: String?
        if let at = servers.lastIndex(of: "@") {
            credentials = String(servers[..<at])
            servers = String(servers[servers.index(after: at)...])
        }
        let hosts = servers.split(separator: ",").map(String.init)
        guard !hosts.isEmpty, hosts.allSatisfy({ !$0.isEmpty }) else {
            throw StrataError.invalidArgument("a JetStream store URL needs at least one HOST[:PORT], not \(text)")
        }
        let urls = hosts.map { "nats://" + (credentials.map { $0 + "@" } ?? "") + $0 }
        let user = credentials.map { $0.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "" }
        let display = "nats://" + (user.map { $0 + ":…@" } ?? "") + servers + "/" + store
        return (urls, store, display)
    }
}
