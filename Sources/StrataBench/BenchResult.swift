/// One measured figure.
public struct BenchResult: Sendable, Hashable {
    /// A stable dotted name, for example `append.batch1000.none`.
    public let name: String
    /// The figure.
    public let value: Double
    /// Its unit: `events/s`, `iterations/s`, `us`, `ms`, `MiB` or `x` (a ratio).
    public let unit: String

    /// Creates a result.
    public init(name: String, value: Double, unit: String) {
        self.name = name
        self.value = value
        self.unit = unit
    }
}

/// Everything one `strata bench` run measured, with the machine it ran on.
public struct BenchReport: Sendable {
    /// Facts about the machine and the run, in display order.
    public let machine: [(key: String, value: MachineValue)]
    /// The results, in the order they were measured (ratios last).
    public let results: [BenchResult]
    /// Workloads that were selected but could not run here, with the reason.
    public let skipped: [(name: String, reason: String)]
}

/// A value in the machine description.
public enum MachineValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
}
