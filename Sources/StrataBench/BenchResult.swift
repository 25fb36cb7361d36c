/// One measured figure.
public struct BenchResult: Sendable, Hashable {
    /// A stable dotted name, for example `append.batch1000.none`.
    public let name: String
    /// The figure.
    public let value: Double
    /// Its unit: `events/s`, `iterations/s`, `us`, `ms`, `MiB`, `x` (a ratio) or `files/10k events`.
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

extension BenchReport {
    /// Creates a report of results measured outside ``Benchmark`` (the CLI's HTTP workloads,
    /// which need the server and so live with it), describing the machine as ``Benchmark`` does.
    /// - Parameters:
    ///   - backend: The store the figures were measured on.
    ///   - scale: `quick`, `full` or `custom`.
    ///   - workDirectory: Where the workloads' stores were created.
    ///   - results: The figures, in the order measured.
    ///   - skipped: Workloads that could not run, with the reason.
    public init(backend: String, scale: String, workDirectory: String, results: [BenchResult],
                skipped: [(name: String, reason: String)] = []) {
        self.init(machine: MachineInfo.collect(backend: backend, scale: scale, workDirectory: workDirectory),
                  results: results, skipped: skipped)
    }
}

/// Summaries of latency samples.
public enum LatencySamples {
    /// The value at quantile `q` (0…1) of ascending samples, by nearest rank (0 when empty).
    public static func quantile(_ sorted: [UInt64], _ q: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
