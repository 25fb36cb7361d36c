import Strata
import Synchronization

/// What a backend's test target provides so that the conformance suite can run against it.
///
/// ```swift
/// struct MemoryHarness: ConformanceHarness {
///     func makeStore() async throws -> any EventStore { InMemoryEventStore() }
///     func cleanUp() async {}
/// }
/// ```
public protocol ConformanceHarness: Sendable {
    /// A fresh, empty store with the default configuration. Every call gives a new store.
    func makeStore() async throws -> any EventStore

    /// A fresh, empty store with other per-event limits, or `nil` when the backend cannot be
    /// configured so (the suite then tests the default 4 MiB limit only). Defaults to `nil`.
    func makeStore(limits: EventLimits) async throws -> (any EventStore)?

    /// Releases whatever the harness created (directories, servers). Called once after each
    /// check or property run, after the suite closed every store it made.
    func cleanUp() async
}

extension ConformanceHarness {
    public func makeStore(limits: EventLimits) async throws -> (any EventStore)? { nil }
}

/// What a check works with: a fresh store, and the harness for the rare check that needs
/// another store.
public final class ConformanceContext: Sendable {
    /// The fresh, empty store under test.
    public let store: any EventStore
    private let harness: any ConformanceHarness
    private let extraStores = Mutex<[any EventStore]>([])

    init(store: any EventStore, harness: any ConformanceHarness) {
        self.store = store
        self.harness = harness
    }

    /// Another fresh store with these limits, if the harness offers one; closed after the check.
    public func makeStore(limits: EventLimits) async throws -> (any EventStore)? {
        guard let store = try await harness.makeStore(limits: limits) else { return nil }
        extraStores.withLock { $0.append(store) }
        return store
    }

    /// Closes every store of the check. Errors are ignored: a check may have closed its store.
    func closeAll() async {
        let stores = [store] + extraStores.withLock { $0 }
        for store in stores { try? await store.close() }
    }
}
