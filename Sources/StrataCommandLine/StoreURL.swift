import Foundation
import CoreMetrics
import Logging
import Strata
import StrataStores

/// Where a command's store lives, parsed from `--store` by the shared store registry
/// (StrataStores; docs/CLI.md lists the URL forms).
public typealias StoreURL = StoreLocation

extension StoreLocation {
    /// Every backend of this build; `http(s)://` stores take their key from `STRATA_API_KEY`.
    public static let registry = StoreRegistry.standard()

    /// The default when `--store` is not given.
    public static let defaultText = "file:./strata-data"

    /// Parses a store URL.
    /// - Throws: ``StrataError/unknownStoreURL(_:)`` for a scheme this build does not know.
    public init(parsing text: String) throws {
        self = try Self.registry.parse(text)
    }

    /// Whether the store exists (local stores; remote ones always answer true).
    public var exists: Bool { Self.registry.exists(self) }

    /// Opens the store; a missing local store under `.existing` is ``CommandFailure/noStore(path:)``.
    public func open(_ access: StoreAccess, logger: Logger? = nil, metrics: (any MetricsFactory)? = nil) async throws -> any EventStore {
        do {
            return try await Self.registry.open(self, access: access, logger: logger, metrics: metrics)
        } catch let missing as StoreNotFound {
            throw CommandFailure.noStore(path: missing.location.path ?? missing.location.displayText)
        }
    }

    /// Opens the store, runs `body` with it, and closes it, whether `body` returns or throws
    /// (a close failure after a failed `body` is dropped: the first error is the one to see).
    public func withStore<T>(_ access: StoreAccess, _ body: (any EventStore) async throws -> T) async throws -> T {
        let store = try await open(access)
        let value: T
        do {
            value = try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return value
    }

    /// The backend's name without its address: `file`, `sqlite`, `postgres`, `memory`, `nats` or `http`.
    public var kind: String { backend.rawValue }
}
