import CoreMetrics
import Logging
import Strata

/// One backend's store URLs: the prefixes it answers to, how it reads a URL (without connecting)
/// and how it opens the store. Adding a backend to every surface that takes a store URL (the
/// CLI's `--store`, `strata serve`, the bench) is one ``StoreRegistry/register(_:)``.
public struct StoreScheme: Sendable {
    /// The backend this scheme opens.
    public let backend: StoreLocation.Backend
    /// URL prefixes, e.g. `["postgres://", "postgresql://"]`.
    public let prefixes: [String]
    /// One line for help texts: the URL form and what it opens.
    public let summary: String
    /// Reads a URL that starts with one of ``prefixes``; checks it without connecting.
    public let parse: @Sendable (String) throws -> StoreLocation
    /// Whether the store exists (for local stores; remote ones answer true).
    public let exists: @Sendable (StoreLocation) -> Bool
    /// Opens the store (creating it unless the access is ``StoreAccess/existing``), reporting
    /// to the telemetry's logger and metrics when they are given.
    public let open: @Sendable (StoreLocation, StoreAccess, StoreTelemetry) async throws -> any EventStore

    /// Creates a scheme.
    public init(backend: StoreLocation.Backend, prefixes: [String], summary: String,
                parse: @escaping @Sendable (String) throws -> StoreLocation,
                exists: @escaping @Sendable (StoreLocation) -> Bool = { _ in true },
                open: @escaping @Sendable (StoreLocation, StoreAccess, StoreTelemetry) async throws -> any EventStore) {
        self.backend = backend
        self.prefixes = prefixes
        self.summary = summary
        self.parse = parse
        self.exists = exists
        self.open = open
    }
}

/// Turns store URLs into stores: the one place that knows URL schemes
/// (docs/STORE-URLS.md lists them).
///
/// ```swift
/// let registry = StoreRegistry.standard()
/// let store = try await registry.open("file:./data", access: .create)
/// ```
public struct StoreRegistry: Sendable {
    /// The registered schemes, in registration order.
    public private(set) var schemes: [StoreScheme] = []

    /// An empty registry.
    public init() {}

    /// Adds a scheme; a later registration of the same prefix wins.
    public mutating func register(_ scheme: StoreScheme) {
        let taken = Set(scheme.prefixes)
        schemes.removeAll { $0.prefixes.contains(where: taken.contains) }
        schemes.append(scheme)
    }

    /// Reads a store URL without opening anything.
    /// - Throws: ``Strata/StrataError/unknownStoreURL(_:)`` when no scheme matches, or the
    ///   scheme's own error for a malformed URL.
    public func parse(_ text: String) throws -> StoreLocation {
        guard let scheme = scheme(for: text) else { throw StrataError.unknownStoreURL(text) }
        return try scheme.parse(text)
    }

    /// Whether the store at `location` exists.
    public func exists(_ location: StoreLocation) -> Bool {
        schemes.first { $0.backend == location.backend }?.exists(location) ?? false
    }

    /// Opens the store at `location`.
    /// - Throws: ``StoreNotFound`` for a missing local store under ``StoreAccess/existing``, or
    ///   what the backend throws.
    /// - Parameters:
    ///   - logger: where the backend reports what it does (the log engine: opening, recovery,
    ///     rolls, failures; PostgreSQL: connections; NATS: reconnects); nil: the backend's default.
    ///   - metrics: where the backend records its metrics (the log engine's, docs/ENGINE.md);
    ///     nil: nowhere.
    public func open(_ location: StoreLocation, access: StoreAccess, logger: Logger? = nil,
                     metrics: (any MetricsFactory)? = nil) async throws -> any EventStore {
        guard let scheme = schemes.first(where: { $0.backend == location.backend }) else {
            throw StrataError.unknownStoreURL(location.displayText)
        }
        if access != .create && !scheme.exists(location) { throw StoreNotFound(location: location) }
        return try await scheme.open(location, access, StoreTelemetry(logger: logger, metrics: metrics))
    }

    /// Parses and opens a store URL.
    public func open(_ text: String, access: StoreAccess, logger: Logger? = nil,
                     metrics: (any MetricsFactory)? = nil) async throws -> any EventStore {
        try await open(try parse(text), access: access, logger: logger, metrics: metrics)
    }

    private func scheme(for text: String) -> StoreScheme? {
        let lower = text.lowercased()
        return schemes.last { $0.prefixes.contains { lower.hasPrefix($0) } }
    }
}

/// Where a store being opened reports: a logger and a metrics factory, each optional.
public struct StoreTelemetry: Sendable {
    /// The logger, if any.
    public var logger: Logger?
    /// The metrics factory, if any.
    public var metrics: (any MetricsFactory)?

    /// Creates telemetry settings.
    public init(logger: Logger? = nil, metrics: (any MetricsFactory)? = nil) {
        self.logger = logger
        self.metrics = metrics
    }
}
