import Strata
import StrataCommandLine
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
}
