import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataBench
import StrataPostgres

/// `strata-bench store` (also `strata bench`, and `strata-bench` alone): measures the backend
/// named by --store against SQLite and the raw disk.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Measure appends, reads, subscriptions and open time, next to SQLite and the raw disk.",
        discussion: """
            The backend is the one --store names (file: runs the log engine, sqlite: the SQLite backend,
            memory: the in-memory store, postgres://… the PostgreSQL backend, one schema per workload);
            the workloads create their own stores in fresh directories (schemas) under --work-dir and
            remove them. With --postgres URL (or a postgres:// store) the postgres.* workloads also run:
            the PostgreSQL backend with 8 concurrent writers in batches of 10, beside raw SQL inserts into
            a Strata schema. A private server for them: eval "$(scripts/postgres.sh start)"; then
            --postgres "$STRATA_TEST_POSTGRES_URL". With --nats URL the jetstream.* workloads run the JetStream
            backend beside raw JetStream publishes by Strata's NATS client and by nats-py (python3, pip install nats-py).
            Prints a table of name, value, unit; with --json, one JSON object on stdout:
              {"machine": {...}, "command": "...", "results": [{"name", "value", "unit"}, ...]}
            Progress goes to stderr. Build with -c release before trusting the figures.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var report: ReportOptions

    @Flag(help: "A smaller run (open.1m and open.10m then use 100k and 1M events).")
    var quick = false

    @Option(help: ArgumentHelp("A PostgreSQL server for the postgres.* workloads (its schemas strata_bench_* are dropped).", valueName: "URL"))
    var postgres: String?

    @Option(help: ArgumentHelp("A NATS server with JetStream for the jetstream.* and natspy.* workloads (its streams STRATA_bench_* are deleted).", valueName: "URL"))
    var nats: String?

    func run() async throws {
        let url = try global.storeURL()
        let workDirectory = try report.workDirectory()
        var postgresURL = postgres
        if url.backend == .postgres { postgresURL = postgresURL ?? url.address }
        if let postgresURL { _ = try PostgresConfiguration(url: postgresURL) }
        var openProbe: (@Sendable (String) async throws -> OpenMeasurement)? = { directory in
            let store = if url.backend == .sqlite { "sqlite:" + SQLiteBenchBackend.databasePath(in: directory) } else { "file:\(directory)" }
            return try await OpenProbeCommand.runInChild(store: store)
        }
        if url.backend == .postgres { openProbe = nil }
        var options = BenchOptions(
            scale: quick ? .quick : .full, only: report.only, workDirectory: workDirectory,
            openProbe: openProbe, postgresURL: postgresURL,
            progress: { line in
                StandardOutput.stderr.writeLine("bench: " + line, flushing: true)
            })
        options.natsURL = nats
        let results: BenchReport
        switch url.backend {
        case .memory:
            results = try await Benchmark(backend: MemoryBenchBackend(), options: options).run()
        case .file:
            results = try await Benchmark(backend: LogBenchBackend(), options: options).run()
        case .sqlite:
            results = try await Benchmark(backend: SQLiteBenchBackend(), options: options).run()
        case .postgres:
            results = try await Self.runPostgres(url: url.address, options: options)
        default:
            throw CommandFailure.notApplicable("strata bench measures file:, sqlite:, memory: and postgres:// stores (JetStream through --nats), not \(url)")
        }
        for (name, reason) in results.skipped {
            StandardOutput.stderr.writeLine("bench: skipped \(name): \(reason)", flushing: true)
        }
        report.print(results, subcommand: Self.configuration.commandName!, label: "bench")
    }

    /// Runs the benchmark on the PostgreSQL backend, each workload in a schema of its own,
    /// dropped at the end.
    static func runPostgres(url: String, options: BenchOptions) async throws -> BenchReport {
        try await PostgresBench.dropSchemas(url: url)
        do {
            let report = try await Benchmark(backend: PostgresBenchBackend(url: url), options: options).run()
            try await PostgresBench.dropSchemas(url: url)
            return report
        } catch {
            try? await PostgresBench.dropSchemas(url: url)
            throw error
        }
    }
}
