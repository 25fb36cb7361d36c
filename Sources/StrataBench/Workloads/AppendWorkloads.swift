import Strata

/// Append throughput: batches of a fixed size from one writer, and single events from many.
enum AppendWorkloads {
    /// Streams the batched workloads rotate over.
    static let streamCount = 1_000

    /// Appends `total` events in batches of `batchSize`, one batch after another, each batch to
    /// the next of 1,000 streams. Returns events per second.
    static func batched<B: BenchBackend>(_ backend: B, batchSize: Int, total: Int, durability: BenchDurability,
                                         in parent: String) async throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "append-batch\(batchSize)-\(durability.rawValue)")
        defer { scratch.remove() }
        let streams = BenchEvents.streamNames("order", count: streamCount)
        var events = BenchEvents()
        let batches = (0..<Swift.max(1, total / batchSize)).map { _ in events.batch(batchSize) }
        let store = try await backend.open(directory: scratch.path, durability: durability)
        let seconds: Double
        do {
            seconds = try await Stopwatch.time {
                for (i, batch) in batches.enumerated() {
                    try await store.append(to: streams[i % streams.count], events: batch)
                }
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return Double(batches.count * batchSize) / seconds
    }

    /// `appenders` concurrent tasks each append `perAppender` single events to their own stream,
    /// each append waiting for its own acknowledgement. Returns events per second.
    static func concurrentSingles<B: BenchBackend>(_ backend: B, appenders: Int, perAppender: Int, durability: BenchDurability,
                                                   in parent: String) async throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "append-single-c\(appenders)-\(durability.rawValue)")
        defer { scratch.remove() }
        var factory = BenchEvents()
        let work = (0..<appenders).map { _ in factory.batch(perAppender) }
        let store = try await backend.open(directory: scratch.path, durability: durability)
        let seconds: Double
        do {
            seconds = try await Stopwatch.time {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (a, events) in work.enumerated() {
                        let stream = "appender-\(a)"
                        group.addTask {
                            for event in events { try await store.append(to: stream, event: event) }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return Double(appenders * perAppender) / seconds
    }
}
