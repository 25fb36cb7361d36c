import Strata
import StrataBench
import StrataLog

extension StoreURL {
    /// Opens the embedded log engine in a directory (created when missing), with its defaults:
    /// durability fsync, 64 MiB segments.
    static func openLog(directory: String) throws -> any EventStore {
        try LogEventStore(directory: directory)
    }

    /// Verifies a log directory, reporting progress as (bytes checked, total bytes).
    static func verifyLog(directory: String, progress: @escaping @Sendable (Int64, Int64) -> Void) throws -> VerifyOutcome {
        let report = try LogEventStore.verify(directory: directory) { p in progress(p.bytesChecked, p.totalBytes) }
        return VerifyOutcome(segments: report.segments, events: report.events, bytes: report.bytes,
                             problems: report.problems.map { .init(path: $0.path, offset: $0.offset, reason: $0.reason) })
    }

    /// Runs the benchmark on the log engine.
    static func runLogBenchmark(_ options: BenchOptions) async throws -> BenchReport {
        try await Benchmark(backend: LogBenchBackend(), options: options).run()
    }

    /// Opens a log store and measures it (for the open probe).
    static func measureLogOpen(_ url: StoreURL) async throws -> OpenMeasurement {
        guard url.backend == .file, let path = url.path else {
            throw CommandFailure.notApplicable("the open probe measures file: stores, not \(url)")
        }
        guard url.exists else { throw CommandFailure.noStore(path: path) }
        return try await OpenWorkload.measure(LogBenchBackend(), directory: path)
    }
}
