import Foundation
import Prometheus
import Strata
import StrataConsumers
import StrataDocuments
import StrataJSON
import StrataTracing

/// Everything a ``StrataHTTPServer`` is configured with. Every setting has a default; a JSON
/// configuration file (format version 1, docs/SERVER.md) overrides them.
public struct ServerConfiguration: Sendable {
    /// The address to bind. With no API key configured, only loopback addresses are accepted.
    public var host: String
    /// The port to bind; 0 picks a free one (see ``StrataHTTPServer/port``).
    public var port: Int
    /// The API keys; empty means no authentication (and loopback only).
    public var apiKeys: [APIKey]
    /// Request and subscription limits.
    public var limits: ServerLimits
    /// Seconds between SSE heartbeat comments (and WebSocket heartbeat frames).
    public var heartbeatSeconds: Double
    /// A certificate chain and private key (PEM files) to serve HTTPS with.
    public var tls: TLSFiles?
    /// A directory of `FileCheckpointStore` checkpoints to report consumer lag from (`/consumers`).
    public var checkpointDirectory: String?
    /// How many of `$all`'s most recent events the shared live tail keeps in memory (default
    /// 8,192). Live `$all` subscribers within this window are served from memory; one further
    /// behind reads the store itself until it catches up.
    public var liveWindowEvents: Int = 8192
    /// Where document collections (`/documents/…`) keep their view snapshots, one directory per
    /// collection; `nil` (the default) rebuilds a collection's view from the store when it opens.
    public var documentsDirectory: String?
    /// Browser origins (`scheme://host[:port]`) allowed to call this server from their pages
    /// (CORS). Empty (the default): only pages the server itself serves; a request with any
    /// other `Origin` is refused with 403.
    public var allowedOrigins: [String] = []
    /// Host names (without port) accepted in the `Host` header when no API key is configured,
    /// besides `localhost` and loopback addresses: requests naming any other host are refused
    /// with 403 (a DNS-rebinding page cannot reach a keyless server).
    public var allowedHosts: [String] = []
    /// Secondary indexes of document collections, by collection: the field paths each indexes
    /// (docs/DOCUMENTS.md, "Indexes"), e.g. `["users": ["email", "address.city"]]`.
    public var documentIndexes: [String: [String]] = [:]
    /// The Prometheus registry `/metrics` serves; give the same registry's factory
    /// (`PrometheusMetricsFactory(registry:)`) to the store and other components, and their
    /// metrics appear on `/metrics` beside the server's. Nil: a registry of the server's own.
    public var metricsRegistry: PrometheusCollectorRegistry?
    /// A folder of event configs (JSON schemas, as `strata codegen` reads them) that `strata
    /// serve` checks every append against: an event of an undeclared type is refused with 400
    /// `invalid-event-type`, one whose data or metadata break its schema with 422
    /// `schema-violation`, and nothing of the append is stored. Nil: no check.
    public var schemasDirectory: String?
    /// The folder of document snapshots (`/snapshots/…`; docs/CDC.md, file format version 1):
    /// snapshots are `<snapshotsDirectory>/snapshots/<storeId>/<name>.json`. Nil (the default):
    /// the snapshot routes answer 501 `unsupported`.
    public var snapshotsDirectory: String?
    /// Collections whose writes through the server (put, patch, delete, insert, restore) also
    /// record CDC changes in `cdc-<collection>`, with the previous document, in the same atomic
    /// append (docs/CDC.md), as a `CDCCollection` does; `GET /documents/{c}/changes` serves
    /// them. Empty (the default): writes record no changes.
    public var cdcCollections: [String] = []
    /// The persistent subscription groups served under `/subscriptions` (docs/SERVER.md,
    /// "Persistent subscriptions"; docs/CONSUMERS.md). The server starts the registry when it
    /// starts (``StrataRoutes/run()``) and stops it when it stops, which saves the checkpoints
    /// of the groups it runs and releases them to the other instances. Its
    /// `PersistentSubscriptions/instance` name should be this server's URL as clients reach it:
    /// another instance asked for a group this one runs redirects there (307). Nil (the
    /// default): the `/subscriptions` routes answer 501 `unsupported`.
    public var persistentSubscriptions: PersistentSubscriptions?
    /// The folder where `strata serve` keeps its persistent subscription groups (a
    /// `FileCheckpointStore`): what stores that keep no checkpoints beside their events
    /// (`file:`, `memory:`, `nats://`, `http(s)://`) need; a SQLite or PostgreSQL store keeps them
    /// in its own database unless this is set. `strata serve --subscriptions DIR` wins.
    public var subscriptionsDirectory: String?
    /// This server's URL as clients and the other instances reach it (`http://` or `https://`,
    /// a host, an optional port): the name under which `strata serve` runs persistent
    /// subscription groups, to which the other instances redirect requests for them.
    /// `strata serve --advertise URL` wins; nil: `http(s)://HOST:PORT` as bound.
    public var advertisedURL: String?
    /// The port of KurrentDB's gRPC client protocol (docs/KURRENTDB.md), served beside the HTTP
    /// API by `strata serve` (StrataKurrent's `StrataKurrentServer`), with the same store, keys,
    /// TLS files and subscriptions. Nil (the default): not served. `strata serve --grpc-port` wins.
    public var grpcPort: Int?
    /// The log level of `strata serve` (`trace`, `debug`, `info`, `notice`, `warning`,
    /// `error`, `critical`); nil: `info`.
    public var logLevel: String?
    /// Tracing (the file's `tracing` object; docs/OPERATIONS.md, "Tracing"). When set, the
    /// server gives every request a server span (Hummingbird's `TracingMiddleware`, continuing a
    /// caller's `traceparent`), and `strata serve` exports spans to the OTLP endpoint and traces
    /// the store. A program that runs ``StrataHTTPServer`` itself bootstraps its own tracer.
    public var tracing: TracingConfiguration?

    /// Creates a configuration.
    public init(host: String = "127.0.0.1", port: Int = 2113, apiKeys: [APIKey] = [], limits: ServerLimits = ServerLimits(),
                heartbeatSeconds: Double = 15, tls: TLSFiles? = nil, checkpointDirectory: String? = nil) {
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
        self.limits = limits
        self.heartbeatSeconds = heartbeatSeconds
        self.tls = tls
        self.checkpointDirectory = checkpointDirectory
    }

    /// PEM files for TLS.
    public struct TLSFiles: Sendable, Hashable, Codable {
        /// The certificate chain.
        public var certificate: String
        /// The private key.
        public var privateKey: String
        /// The oldest TLS version accepted: `"1.2"` (the default) or `"1.3"`. Older versions
        /// are never accepted; the cipher suites are the forward-secret AEAD ones.
        public var minimumVersion: String?
        /// Creates TLS settings.
        public init(certificate: String, privateKey: String, minimumVersion: String? = nil) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.minimumVersion = minimumVersion
        }
    }

    /// The configuration file format version this build reads.
    public static let fileFormatVersion = 1

    /// The file's shape (every field optional but `version`).
    struct File: Decodable {
        var version: Int
        var host: String?
        var port: Int?
        var store: String?
        var apiKeys: [APIKey]?
        var limits: ServerLimits.File?
        var heartbeatSeconds: Double?
        var tls: TLSFiles?
        var checkpointDirectory: String?
        var liveWindowEvents: Int?
        var documentsDirectory: String?
        var allowedOrigins: [String]?
        var allowedHosts: [String]?
        var documentIndexes: [String: [String]]?
        var logLevel: String?
        var tracing: TracingConfiguration?
        var schemasDirectory: String?
        var snapshotsDirectory: String?
        var cdcCollections: [String]?
        var subscriptionsDirectory: String?
        var advertisedURL: String?
        var grpcPort: Int?
    }

    /// Reads a configuration file over `self`, returning the file's `store` URL if it names one.
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming the file and the problem.
    public mutating func apply(file path: String) throws -> String? {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StrataError.invalidArgument("cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        let file: File
        do { file = try StrataJSONDecoder().decode(File.self, from: data) } catch {
            throw StrataError.invalidArgument("the configuration file \(path) is not valid: \(ServerConfiguration.describe(error))")
        }
        guard file.version == ServerConfiguration.fileFormatVersion else {
            throw StrataError.unsupportedFormat(path: path, found: "version \(file.version)", supported: "version \(ServerConfiguration.fileFormatVersion)")
        }
        if let v = file.host { host = v }
        if let v = file.port { port = v }
        if let v = file.apiKeys { apiKeys = v }
        if let v = file.limits { limits.apply(v) }
        if let v = file.heartbeatSeconds { heartbeatSeconds = v }
        if let v = file.tls { tls = v }
        if let v = file.checkpointDirectory { checkpointDirectory = v }
        if let v = file.liveWindowEvents { liveWindowEvents = v }
        if let v = file.documentsDirectory { documentsDirectory = v }
        if let v = file.allowedOrigins { allowedOrigins = v }
        if let v = file.allowedHosts { allowedHosts = v }
        if let v = file.documentIndexes { documentIndexes = v }
        if let v = file.logLevel { logLevel = v }
        if let v = file.tracing { tracing = v }
        if let v = file.schemasDirectory { schemasDirectory = v }
        if let v = file.snapshotsDirectory { snapshotsDirectory = v }
        if let v = file.cdcCollections { cdcCollections = v }
        if let v = file.subscriptionsDirectory { subscriptionsDirectory = v }
        if let v = file.advertisedURL { advertisedURL = v }
        if let v = file.grpcPort { grpcPort = v }
        try validate()
        return file.store
    }

    /// Adds the keys of `STRATA_API_KEYS` (a JSON array of key objects, as in the file).
    public mutating func apply(environment: [String: String]) throws {
        guard let text = environment["STRATA_API_KEYS"], !text.isEmpty else { return }
        do {
            apiKeys += try StrataJSONDecoder().decode([APIKey].self, from: Data(text.utf8))
        } catch {
            throw StrataError.invalidArgument("STRATA_API_KEYS is not a JSON array of keys: \(ServerConfiguration.describe(error))")
        }
        try validate()
    }

    /// Checks settings that cannot be expressed by types.
    public func validate() throws {
        // Entries sharing a name are one key's secrets during a rotation: they must grant the same.
        var grants: [String: (Set<APIKey.Scope>, String?)] = [:]
        var digests = Set<[UInt8]>()
        for key in apiKeys {
            let digest = try key.digest()
            if key.scopes.isEmpty { throw StrataError.invalidArgument("API key \"\(key.name)\" has no scope") }
            if let (scopes, prefix) = grants[key.name], scopes != key.scopes || prefix != key.streamPrefix {
                throw StrataError.invalidArgument("API key name \"\(key.name)\" appears twice with different scopes or stream prefixes; entries sharing a name (a rotation) must agree")
            }
            grants[key.name] = (key.scopes, key.streamPrefix)
            if !digests.insert(digest).inserted {
                throw StrataError.invalidArgument("API key \"\(key.name)\": the same secret is configured twice")
            }
        }
        for origin in allowedOrigins { try BrowserPolicy.validateOrigin(origin) }
        if let logLevel, !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) {
            throw StrataError.invalidArgument("logLevel must be trace, debug, info, notice, warning, error or critical, not \"\(logLevel)\"")
        }
        if let tls, !["1.2", "1.3"].contains(tls.minimumVersion ?? "1.2") {
            throw StrataError.invalidArgument("tls.minimumVersion must be \"1.2\" or \"1.3\", not \"\(tls.minimumVersion ?? "")\"")
        }
        if heartbeatSeconds <= 0 || !heartbeatSeconds.isFinite { throw StrataError.invalidArgument("heartbeatSeconds must be positive") }
        if liveWindowEvents < 1 || liveWindowEvents > 10_000_000 { throw StrataError.invalidArgument("liveWindowEvents must be between 1 and 10000000") }
        try limits.validate()
        try tracing?.validate()
        for collection in cdcCollections { try DocumentNaming.validateCollection(collection) }
        if let grpcPort, !(0 ... 65_535).contains(grpcPort) || grpcPort == port && port != 0 {
            throw StrataError.invalidArgument("grpcPort (strata serve --grpc-port) must be 0…65535 and differ from the HTTP port, not \(grpcPort)")
        }
        if let advertisedURL {
            let lower = advertisedURL.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), let url = URL(string: advertisedURL), url.host?.isEmpty == false,
                  url.query == nil, url.fragment == nil, url.path.isEmpty || url.path == "/" else {
                throw StrataError.invalidArgument("advertisedURL (strata serve --advertise) must be an http(s)://HOST[:PORT] URL, not \"\(advertisedURL)\"")
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \"\(key.stringValue)\" at \(path(context.codingPath))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
