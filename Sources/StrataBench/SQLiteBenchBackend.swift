import Strata
import StrataSQLite

/// The SQLite backend, one database file per workload directory. Durability `fsync` is
/// `synchronous=FULL` (an fsync per group-commit transaction), `none` is `synchronous=OFF`:
/// the same pragmas as the raw-SQLite baseline, so that the two compare fairly.
public struct SQLiteBenchBackend: BenchBackend {
    /// Creates the SQLite benchmark backend.
    public init() {}
    /// The backend's name in results.
    public var name: String { "sqlite" }
    /// Stores persist, so open-time workloads run.
    public var persists: Bool { true }

    /// The database file of a workload directory.
    public static func databasePath(in directory: String) -> String { directory + "/events.db" }

    /// The configuration for a durability.
    static func configuration(_ durability: BenchDurability) -> SQLiteConfiguration {
        SQLiteConfiguration(synchronous: durability == .fsync ? .full : .off)
    }

    /// Opens a store in `directory/events.db` with the given durability.
    public func open(directory: String, durability: BenchDurability) async throws -> SQLiteEventStore {
        try SQLiteEventStore(path: SQLiteBenchBackend.databasePath(in: directory), configuration: SQLiteBenchBackend.configuration(durability))
    }
}
