import Strata
import StrataLog

/// The embedded log engine with its default configuration, durability set per workload.
public struct LogBenchBackend: BenchBackend {
    public init() {}
    public var name: String { "log" }
    public var persists: Bool { true }
    public func open(directory: String, durability: BenchDurability) async throws -> LogEventStore {
        let mode: LogConfiguration.Durability = durability == .fsync ? .fsync : .none
        return try LogEventStore(directory: directory, configuration: LogConfiguration(durability: mode))
    }
}
