import Strata
import StrataLog

/// The embedded log engine with its default configuration, durability set per workload.
public struct LogBenchBackend: BenchBackend {
    /// Creates the log-engine benchmark backend.
    public init() {}
    /// The backend's name in results.
    public var name: String { "log" }
    /// Stores persist, so open-time workloads run.
    public var persists: Bool { true }
    /// Opens a store in `directory` with the given durability.
    public func open(directory: String, durability: BenchDurability) async throws -> LogEventStore {
        let mode: LogConfiguration.Durability = durability == .fsync ? .fsync : .none
        return try LogEventStore(directory: directory, configuration: LogConfiguration(durability: mode))
    }
}
