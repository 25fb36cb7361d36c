import Foundation
import Strata
import StrataLog

/// Backup and restore of a log store (docs/OPERATIONS.md): a full backup into an empty folder,
/// an incremental one after 1 % more events (only the newest segment and new ones are copied),
/// and a restore. Rates are megabytes of store (segment bytes) per second of wall time; each
/// includes the fsyncs and the check that opens the copy.
enum BackupWorkloads {
    struct Rates {
        let full: Double
        let incremental: Double
        let restore: Double
    }

    static func run(events: Int, in parent: String, progress: (String) -> Void) async throws -> Rates {
        let scratch = try ScratchDirectory(parent: parent, name: "backup")
        defer { scratch.remove() }
        let source = scratch.file("store"), backup = scratch.file("backup"), restored = scratch.file("restored")
        progress("  filling a store with \(events) events")
        let store = try LogEventStore(directory: source, configuration: LogConfiguration(durability: .none, segmentSize: 16 << 20))
        let streams = BenchEvents.streamNames("order", count: 1_000)
        var factory = BenchEvents()
        var written = 0
        while written < events {
            let count = Swift.min(1_000, events - written)
            _ = try await store.append([AppendRequest(stream: streams[(written / 1_000) % streams.count], events: factory.batch(count))], condition: nil)
            written += count
        }
        let megabytes = { (path: String) -> Double in Double(directoryBytes(path + "/segments")) / 1_048_576 }

        var start = Stopwatch.now()
        _ = try await LogBackup.backup(directory: source, to: backup)
        let full = megabytes(backup) / Stopwatch.seconds(since: start)

        for _ in 0..<Swift.max(1, events / 100_000) {
            _ = try await store.append([AppendRequest(stream: streams[0], events: factory.batch(1_000))], condition: nil)
        }
        start = Stopwatch.now()
        _ = try await LogBackup.backup(directory: source, to: backup)
        let incremental = megabytes(backup) / Stopwatch.seconds(since: start)
        try await store.close()

        start = Stopwatch.now()
        _ = try await LogBackup.restore(backup: backup, to: restored)
        let restore = megabytes(restored) / Stopwatch.seconds(since: start)
        return Rates(full: full, incremental: incremental, restore: restore)
    }

    static func directoryBytes(_ path: String) -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.reduce(Int64(0)) { total, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? NSNumber)?.int64Value ?? 0
            return total + size
        }
    }
}
