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

    @Flag(help: "Print one JSON object on stdout instead of a table.")
    var json = false

    @Flag(help: "A smaller run (open.1m and open.10m then use 100k and 1M events).")
    var quick = false

    @Option(help: ArgumentHelp("Run only results whose name starts with PREFIX (repeatable).", valueName: "PREFIX"))
    var only: [String] = []

    @Option(help: ArgumentHelp("Where the workloads' temporary stores go (default: the system temporary directory).", valueName: "DIR"))
    var workDir: String?

    @Option(help: ArgumentHelp("A PostgreSQL server for the postgres.* workloads (its schemas strata_bench_* are dropped).", valueName: "URL"))
    var postgres: String?

    @Option(help: ArgumentHelp("A NATS server with JetStream for the jetstream.* and natspy.* workloads (its streams STRATA_bench_* are deleted).", valueName: "URL"))
    var nats: String?

    func run() async throws {
        let url = try global.storeURL()
        let workDirectory = workDir ?? NSTemporaryDirectory()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure.usage("--work-dir \(workDirectory) is not a directory")
        }
        var postgresURL = postgres
        if url.backend == .postgres { postgresURL = postgresURL ?? url.address }
        if let postgresURL { _ = try PostgresConfiguration(url: postgresURL) }
        var openProbe: (@Sendable (String) async throws -> OpenMeasurement)? = { directory in
            let store = if url.backend == .sqlite { "sqlite:" + SQLiteBenchBackend.databasePath(in: directory) } else { "file:\(directory)" }
            return try await OpenProbeCommand.runInChild(store: store)
        }
        if url.backend == .postgres { openProbe = nil }
        var options = BenchOptions(
            scale: quick ? .quick : .full, only: only, workDirectory: workDirectory,
            openProbe: openProbe, postgresURL: postgresURL,
            progress: { line in
                StandardOutput.stderr.writeLine("bench: " + line, flushing: true)
            })
        options.natsURL = nats
        let report: BenchReport
        switch url.backend {
        case .memory:
            report = try await Benchmark(backend: MemoryBenchBackend(), options: options).run()
        case .file:
            report = try await Benchmark(backend: LogBenchBackend(), options: options).run()
        case .sqlite:
            report = try await Benchmark(backend: SQLiteBenchBackend(), options: options).run()
        case .postgres:
            report = try await Self.runPostgres(url: url.address, options: options)
        default:
            throw CommandFailure.notApplicable("strata bench measures file:, sqlite:, memory: and postgres:// stores (JetStream through --nats), not \(url)")
        }
        for (name, reason) in report.skipped {
            StandardOutput.stderr.writeLine("bench: skipped \(name): \(reason)", flushing: true)
        }
        #if DEBUG
        StandardOutput.stderr.writeLine("bench: this was a debug build; compare only figures from `swift build -c release`", flushing: true)
        #endif
        let command = BenchOutput.commandLine(subcommand: Self.configuration.commandName!)
        if json {
            StandardOutput.stdout.writeLine(BenchOutput.json(report, command: command))
        } else {
            StandardOutput.stdout.write(BenchOutput.table(report, command: command))
        }
        StandardOutput.stdout.flush()
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
