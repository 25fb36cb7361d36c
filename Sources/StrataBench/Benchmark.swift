import Foundation
import Strata

/// Runs the `strata bench` workloads against one backend and collects their results.
///
/// ```swift
/// let report = try await Benchmark(backend: MemoryBenchBackend(), options: BenchOptions(scale: .quick)).run()
/// ```
public struct Benchmark<Backend: BenchBackend> {
    /// Every result name, in the order the workloads run (ratios last).
    public static var resultNames: [String] { workloads.flatMap(\.names) + ratios.map(\.name) }

    let backend: Backend
    let options: BenchOptions

    /// Creates a benchmark.
    public init(backend: Backend, options: BenchOptions) {
        self.backend = backend
        self.options = options
    }

    /// Runs the selected workloads in order and computes the ratios whose inputs ran.
    /// - Throws: ``StrataError/invalidArgument(_:)`` when `only` selects nothing.
    public func run() async throws -> BenchReport {
        let selected = selection()
        if selected.isEmpty {
            throw StrataError.invalidArgument("--only \(options.only.joined(separator: ", ")) matches no benchmark; names: \(Self.resultNames.joined(separator: ", "))")
        }
        var results: [BenchResult] = []
        var skipped: [(name: String, reason: String)] = []
        var chosen: [Workload<Backend>] = []
        for workload in Self.workloads where !selected.isDisjoint(with: workload.names) {
            if workload.needsNATS && options.natsURL == nil {
                for name in workload.names where selected.contains(name) {
                    skipped.append((name, "needs a NATS server with JetStream: pass --nats URL (nats-server -js gives one)"))
                }
            } else if workload.needsPostgres && options.postgresURL == nil {
                for name in workload.names where selected.contains(name) {
                    skipped.append((name, "needs a PostgreSQL server: pass --postgres URL (scripts/postgres.sh start gives one)"))
                }
            } else if workload.needsPersistence && !backend.persists {
                for name in workload.names where selected.contains(name) {
                    skipped.append((name, "the \(backend.name) backend does not persist, so there is nothing to reopen"))
                }
            } else {
                chosen.append(workload)
            }
        }
        for (i, workload) in chosen.enumerated() {
            let names = workload.names.filter(selected.contains)
            options.progress("[\(i + 1)/\(chosen.count)] \(names.joined(separator: ", "))")
            let context = WorkloadContext(backend: backend, options: options, selected: Set(names))
            results += try await workload.run(context).filter { selected.contains($0.name) }
        }
        for ratio in Self.ratios where selected.contains(ratio.name) {
            guard let a = results.first(where: { $0.name == ratio.numerator })?.value,
                  let b = results.first(where: { $0.name == ratio.denominator })?.value, b > 0 else { continue }
            results.append(BenchResult(name: ratio.name, value: a / b, unit: "x"))
        }
        let machine = MachineInfo.collect(backend: backend.name, scale: options.scale == .quick ? "quick" : (options.scale == .full ? "full" : "custom"),
                                          workDirectory: options.workDirectory)
        return BenchReport(machine: machine, results: results, skipped: skipped)
    }

    /// The result names to produce: those matching a prefix, plus the inputs of selected ratios.
    func selection() -> Set<String> {
        let all = Self.resultNames
        var selected = Set(all.filter { name in options.only.isEmpty || options.only.contains { name.hasPrefix($0) } })
        for ratio in Self.ratios where selected.contains(ratio.name) {
            selected.insert(ratio.numerator)
            selected.insert(ratio.denominator)
        }
        return selected
    }

    struct Ratio {
        let name: String
        let numerator: String
        let denominator: String
    }

    static var ratios: [Ratio] {
        [
            Ratio(name: "ratio.append.batch1000.sqlite", numerator: "append.batch1000.none", denominator: "sqlite.append.batch1000"),
            Ratio(name: "ratio.append.batch1000.fsync.sqlite", numerator: "append.batch1000.fsync", denominator: "sqlite.append.batch1000.fsync"),
            Ratio(name: "ratio.read.all.sqlite", numerator: "read.all", denominator: "sqlite.read.all"),
            Ratio(name: "ratio.json.decode.foundation", numerator: "json.decode.strata", denominator: "json.decode.foundation"),
            Ratio(name: "ratio.json.encode.foundation", numerator: "json.encode.strata", denominator: "json.encode.foundation"),
            Ratio(name: "ratio.postgres.append.c8.batch10.raw", numerator: "postgres.append.c8.batch10.fsync",
                  denominator: "postgres.raw.append.c8.batch10.fsync"),
        ] + jetStreamRatios
    }
}

/// What a benchmark run is told.
public struct BenchOptions: Sendable {
    /// How much work each workload does.
    public var scale: BenchScale
    /// Result-name prefixes to run; empty runs everything.
    public var only: [String]
    /// Where workloads create (and remove) their directories. The disk under it is what the
    /// durable figures measure.
    public var workDirectory: String
    /// Measures opening the store in a directory, ideally in a fresh child process; nil
    /// measures in this process.
    public var openProbe: (@Sendable (String) async throws -> OpenMeasurement)?
    /// Receives one line per workload started and per long preparation step.
    public var progress: @Sendable (String) -> Void
    /// A PostgreSQL server (`postgres://` URL) for the `postgres.*` workloads: the PostgreSQL
    /// backend and raw SQL inserts into a Strata schema. Nil skips them.
    public var postgresURL: String?
    /// A NATS server with JetStream (`nats://` URL) for the `jetstream.*` and `natspy.*`
    /// workloads. Nil skips them.
    public var natsURL: String?

    /// Creates options.
    public init(scale: BenchScale = .full, only: [String] = [], workDirectory: String = NSTemporaryDirectory(),
                openProbe: (@Sendable (String) async throws -> OpenMeasurement)? = nil,
                postgresURL: String? = nil,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.scale = scale
        self.only = only
        self.workDirectory = workDirectory
        self.openProbe = openProbe
        self.postgresURL = postgresURL
        self.progress = progress
    }
}

/// What a workload gets to run with.
struct WorkloadContext<Backend: BenchBackend> {
    let backend: Backend
    let options: BenchOptions
    /// The names of this workload the run asked for.
    let selected: Set<String>

    var scale: BenchScale { options.scale }
    var directory: String { options.workDirectory }

    func wants(_ name: String) -> Bool { selected.contains(name) }
}

/// One workload: the results it produces and how to run it.
struct Workload<Backend: BenchBackend> {
    let names: [String]
    var needsPersistence = false
    /// Runs only when ``BenchOptions/postgresURL`` is set.
    var needsPostgres = false
    /// Runs only when ``BenchOptions/natsURL`` is set.
    var needsNATS = false
    let run: (WorkloadContext<Backend>) async throws -> [BenchResult]

    init(_ names: [String], needsPersistence: Bool = false, needsPostgres: Bool = false, needsNATS: Bool = false,
         run: @escaping (WorkloadContext<Backend>) async throws -> [BenchResult]) {
        self.names = names
        self.needsPersistence = needsPersistence
        self.needsPostgres = needsPostgres
        self.needsNATS = needsNATS
        self.run = run
    }
}
