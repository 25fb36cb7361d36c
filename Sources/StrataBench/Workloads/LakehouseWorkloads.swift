import Foundation
import Strata
import StrataConsumers
import StrataLakehouse
import StrataJSON
import StrataStorage

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

    /// 2026-01-15T14:00:00Z in microseconds: the event time of the first event of ``fill(_:events:time:)``.
    static let start: Int64 = 1_768_485_600_000_000

    /// Appends `events` rpc.call events (about 120-byte payloads and 110-byte metadata) over 100
    /// streams in batches of 1,000; event `n` has event time `time(n)` (default: one millisecond
    /// apart from ``start``, in order).
    static func fill(_ store: some EventStore, events: Int, time: (Int) -> Int64 = { start + Int64($0) * 1000 }) async throws {
        var written = 0
        while written < events {
            var batch: [EventData] = []
            batch.reserveCapacity(1000)
            for k in 0..<min(1000, events - written) {
                let n = written + k
                let ts = UTCTime.iso8601(time(n))
                let data = #"{"method":"sendMessage","namespace":"chat","durationMs":\#(n % 250).5,"success":true,"userId":"user-\#(n % 9973)","roomId":"room-\#(n % 97)"}"#
                let metadata = #"{"ts":"\#(ts)","source":{"id":"do-\#(n % 100)","class":"ChatRoom","region":"eu-west","worker":"api"}}"#
                batch.append(EventData(type: "rpc.call", json: data, metadata: metadata))
            }
            _ = try await store.append(to: "room-\(written / 1000 % 100)", events: batch)
            written += batch.count
        }
    }

    /// The workloads of ``files(_:)``: files per 10,000 events for an order of event times.
    static let filePatterns: [(name: String, events: Int, maxOpenFiles: Int, order: FileOrder)] = [
        ("export.files.in_order", 200_000, 8, .inOrder),
        ("export.files.interleaved", 200_000, 8, .interleaved),
        ("export.files.late", 20_000, 8, .late),
        ("export.files.late.open32", 20_000, 32, .late),
        ("export.files.interleaved.open1", 2_000, 1, .interleaved),
        ("export.files.late.open1", 2_000, 1, .late),
    ]

    /// How event times follow positions.
    enum FileOrder {
        /// One millisecond apart, in order.
        case inOrder
        /// Event `n` in hour `n % 4` (of four consecutive hours): the worst interleaving of four sources.
        case interleaved
        /// Late mobile clients: nine events in ten in the current hour, in order; one in ten at a
        /// random time of the 24 hours before (seeded, the same every run).
        case late
    }

    /// Runs the `export.files.*` workloads the run selected: each fills a store with its events,
    /// exports them with default settings (64 MiB files) but `maxOpenFiles`, and reports the files
    /// written per 10,000 events.
    static func files<B: BenchBackend>(_ c: WorkloadContext<B>) async throws -> [BenchResult] {
        var results: [BenchResult] = []
        for pattern in filePatterns where c.wants(pattern.name) {
            let scratch = try ScratchDirectory(parent: c.directory, name: pattern.name)
            defer { scratch.remove() }
            c.options.progress("  \(pattern.name): \(pattern.events) events, maxOpenFiles \(pattern.maxOpenFiles)")
            let store = try await c.backend.open(directory: scratch.path + "/store", durability: .none)
            do {
                var random = SplitMix64(seed: 19)
                let hour = UTCTime.microsecondsPerHour
                try await fill(store, events: pattern.events) { n in
                    switch pattern.order {
                    case .inOrder: return start + Int64(n) * 1000
                    case .interleaved: return start + Int64(n % 4) * hour + Int64(n) * 1000
                    case .late:
                        let now = start + 24 * hour + Int64(n) * 1000
                        return random.next() % 10 == 0 ? now - 24 * hour + Int64(random.next() % UInt64(24 * hour)) : now
                    }
                }
                let exporter = try LakehouseExporter(store: store, target: DirectoryTarget(root: scratch.path + "/lake"),
                                                     checkpoints: FileCheckpointStore(directory: scratch.path + "/checkpoints"),
                                                     configuration: ExportConfiguration(source: "bench", maxOpenFiles: pattern.maxOpenFiles))
                let summary = try await exporter.exportAvailable()
                guard summary.events == pattern.events else {
                    throw StrataError.invalidArgument("the export wrote \(summary.events) events of \(pattern.events)")
                }
                results.append(BenchResult(name: pattern.name, value: Double(summary.files) * 10_000 / Double(pattern.events),
                                           unit: "files/10k events"))
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
        return results
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
