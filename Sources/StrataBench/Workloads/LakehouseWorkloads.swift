import Foundation
import Strata
import StrataConsumers
import StrataLakehouse
import StrataJSON

/// The lakehouse exporter end to end: read `$all` from the backend, write JSON Lines (plain or
/// gzip level 1) into hour partitions, fsync and rename each file, save the checkpoint.
enum LakehouseWorkloads {
    /// Runs `export.jsonl` and `export.gzip` (whichever the run selected) over one filled store.
    static func run<B: BenchBackend>(_ c: WorkloadContext<B>) async throws -> [BenchResult] {
        let scratch = try ScratchDirectory(parent: c.directory, name: "lakehouse")
        defer { scratch.remove() }
        let events = c.scale.lakehouseEvents / 1000 * 1000
        c.options.progress("  filling a store with \(events) dotdo-shaped events (rpc.call, metadata ts and source)")
        let store = try await c.backend.open(directory: scratch.path + "/store", durability: .none)
        var results: [BenchResult] = []
        do {
            try await fill(store, events: events)
            for (name, compression) in [("export.jsonl", ExportCompression.none), ("export.gzip", .gzip(level: 1))] where c.wants(name) {
                let rate = try await export(store, events: events, compression: compression, in: scratch.path + "/" + name)
                results.append(BenchResult(name: name, value: rate, unit: "events/s"))
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return results
    }

    /// Appends `events` rpc.call events (about 120-byte payloads and 110-byte metadata) over 100
    /// streams in batches of 1,000, one millisecond of event time apart.
    static func fill(_ store: some EventStore, events: Int) async throws {
        let start: Int64 = 1_768_485_600_000_000  // 2026-01-15T14:00:00Z
        var written = 0
        while written < events {
            var batch: [EventData] = []
            batch.reserveCapacity(1000)
            for k in 0..<1000 {
                let n = written + k
                let ts = UTCTime.iso8601(start + Int64(n) * 1000)
                let data = #"{"method":"sendMessage","namespace":"chat","durationMs":\#(n % 250).5,"success":true,"userId":"user-\#(n % 9973)","roomId":"room-\#(n % 97)"}"#
                let metadata = #"{"ts":"\#(ts)","source":{"id":"do-\#(n % 100)","class":"ChatRoom","region":"eu-west","worker":"api"}}"#
                batch.append(EventData(type: "rpc.call", json: data, metadata: metadata))
            }
            _ = try await store.append(to: "room-\(written / 1000 % 100)", events: batch)
            written += 1000
        }
    }

    /// Exports everything once; returns events per second.
    static func export(_ store: some EventStore, events: Int, compression: ExportCompression, in directory: String) async throws -> Double {
        let exporter = try LakehouseExporter(store: store, target: DirectoryTarget(root: directory + "/lake"),
                                             checkpoints: FileCheckpointStore(directory: directory + "/checkpoints"),
                                             configuration: ExportConfiguration(source: "bench", compression: compression))
        var summary: ExportSummary?
        let seconds = try await Stopwatch.time { summary = try await exporter.exportAvailable() }
        guard summary?.events == events else {
            throw StrataError.invalidArgument("the export wrote \(summary?.events ?? 0) events of \(events)")
        }
        return Double(events) / seconds
    }
}
