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

    /// `writers` concurrent tasks each append batches of `batchSize` events to streams of their
    /// own (four each), each append waiting for its acknowledgement; then reads `$all` back and
    /// checks that positions run 1…n without a gap and every stream's revisions without a gap.
    /// Returns events per second.
    static func concurrentBatches<B: BenchBackend>(_ backend: B, writers: Int, batchSize: Int, total: Int, durability: BenchDurability,
                                                   in parent: String) async throws -> Double {
        let scratch = try ScratchDirectory(parent: parent, name: "append-c\(writers)-batch\(batchSize)-\(durability.rawValue)")
        defer { scratch.remove() }
        let perWriter = Swift.max(1, total / (writers * batchSize))
        var factory = BenchEvents()
        let work = (0..<writers).map { _ in (0..<perWriter).map { _ in factory.batch(batchSize) } }
        let store = try await backend.open(directory: scratch.path, durability: durability)
        let seconds: Double
        do {
            seconds = try await Stopwatch.time {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (w, batches) in work.enumerated() {
                        group.addTask {
                            for (i, batch) in batches.enumerated() {
                                try await store.append(to: "writer-\(w)-\(i % 4)", events: batch)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await checkGapFree(store, expected: writers * perWriter * batchSize)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return Double(writers * perWriter * batchSize) / seconds
    }

    /// Reads `$all` and throws unless it holds positions 1…`expected` in order and each
    /// stream's revisions 1… without a gap.
    static func checkGapFree(_ store: some EventStore, expected: Int) async throws {
        var next: UInt64 = 1
        var revisions: [String: UInt64] = [:]
        for try await event in store.readAll() {
            let revision = (revisions[event.stream] ?? 0) + 1
            guard event.position == next, event.revision == revision else {
                throw StrataError.invalidArgument("$all is not gap-free: expected position \(next) (\(event.stream)@\(revision)), read \(event.position) (\(event.stream)@\(event.revision))")
            }
            revisions[event.stream] = revision
            next += 1
        }
        guard next - 1 == UInt64(expected) else {
            throw StrataError.invalidArgument("$all holds \(next - 1) events, \(expected) were appended")
        }
    }
}
