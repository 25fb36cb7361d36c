import ArgumentParser
import StrataCommandLine

/// `strata-bench`: the benchmark harness, apart from `strata` so that the command-line tool does
/// not link it. `strata bench` and `strata bench-http` run it (docs/BENCHMARKS.md).
@main
struct StrataBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata-bench",
        abstract: "Measure Strata's backends and its HTTP server.",
        discussion: """
            `strata-bench store` (the default, also `strata bench`) measures the backend --store names; \
            `strata-bench http` (also `strata bench-http`) measures the HTTP server. \
            Exit status: 0 success, 1 failure, 2 bad input.
            """,
        subcommands: [StoreBenchCommand.self, HTTPBenchCommand.self, OpenProbeCommand.self],
        defaultSubcommand: StoreBenchCommand.self
    )

    /// Runs the command and turns every failure into one line on stderr and an exit status.
    static func main() async {
        await CommandMain.run(StrataBenchCommand.self)
    }
}
