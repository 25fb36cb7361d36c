import Strata

/// How durably a benchmark store writes.
public enum BenchDurability: String, Sendable, Hashable {
    /// Writes may sit in OS buffers (the engine's `.none`).
    case none
    /// An append returns after its bytes are on disk (the engine's `.fsync`).
    case fsync
}

/// A backend the workloads run against: it opens a store in a directory. Workloads are generic
/// over it, so the same code measures the memory store, the log engine and later backends.
public protocol BenchBackend: Sendable {
    /// The store type.
    associatedtype Store: EventStore
    /// A short name for the report (`memory`, `log`).
    var name: String { get }
    /// Whether a closed store can be opened again with its events (open-time workloads need it).
    var persists: Bool { get }
    /// Opens (creating when missing) a store in `directory` with the given durability.
    func open(directory: String, durability: BenchDurability) async throws -> Store
}

/// The in-memory reference store: for trying the workloads out; durability has no effect and
/// nothing persists, so open-time workloads are skipped.
public struct MemoryBenchBackend: BenchBackend {
    /// Creates the in-memory benchmark backend.
    public init() {}
    /// The backend's name in results.
    public var name: String { "memory" }
    /// Nothing persists, so open-time workloads are skipped.
    public var persists: Bool { false }
    /// Opens a fresh in-memory store (the directory is unused).
    public func open(directory: String, durability: BenchDurability) async throws -> InMemoryEventStore {
        InMemoryEventStore()
    }
}
