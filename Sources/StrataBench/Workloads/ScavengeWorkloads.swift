import Foundation
import Strata
import StrataLog

/// A scavenge of a log store (docs/OPERATIONS.md, "Reclaiming space"): events spread over 1,000
/// streams in 16 MiB segments, every other stream tombstoned, then one scavenge. The rate is
/// megabytes of segments before the scavenge per second of wall time (every sealed segment is
/// read, and rewritten without half its events, with the fsyncs and the restatement).
enum ScavengeWorkloads {
    static func log(events: Int, in parent: String, progress: (String) -> Void) async throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "scavenge")
        defer { scratch.remove() }
        let path = scratch.file("store")
        progress("  filling a store with \(events) events")
        let store = try LogEventStore(directory: path, configuration: LogConfiguration(durability: .none, segmentSize: 16 << 20))
        let streams = BenchEvents.streamNames("order", count: 1_000)
        var factory = BenchEvents()
        var written = 0
        var batch = 0
        while written < events {
            let count = Swift.min(100, events - written)
            _ = try await store.append([AppendRequest(stream: streams[batch % streams.count], events: factory.batch(count))], condition: nil)
            written += count
            batch += 1
        }
        for (i, stream) in streams.enumerated() where i % 2 == 0 {
            try await store.deleteStream(stream, expectedRevision: .any, mode: .tombstone)
        }
        let megabytes = Double(BackupWorkloads.directoryBytes(path + "/segments")) / 1_048_576
        let start = Stopwatch.now()
        let report = try await store.scavenge()
        let seconds = Stopwatch.seconds(since: start)
        try await store.close()
        guard report.eventsRemoved == events / 2 else {
            throw StrataError.invalidArgument("the scavenge removed \(report.eventsRemoved) events, expected \(events / 2)")
        }
        return megabytes / seconds
    }
}
