import Strata

/// Read throughput over a store filled beforehand (not timed).
enum ReadWorkloads {
    /// Fills a store with `events` events in batches of 100, rotating over `streams` streams so
    /// that every stream's events are spread through the log, then reopens it (when the backend
    /// persists) so that reads go through the engine's read path rather than what the writer left.
    static func filledStore<B: BenchBackend>(_ backend: B, events: Int, streams: [String], directory: String) async throws -> B.Store {
        let batchSize = 100
        var factory = BenchEvents()
        var store = try await backend.open(directory: directory, durability: .none)
        do {
            for i in 0..<(events / batchSize) {
                try await store.append(to: streams[i % streams.count], events: factory.batch(batchSize))
            }
            if backend.persists {
                try await store.close()
                store = try await backend.open(directory: directory, durability: .none)
            }
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    /// Reads `$all` forward from the start, counting events. Returns events per second.
    static func all<S: EventStore>(_ store: S, expected: Int) async throws -> Double {
        var count = 0
        let seconds = try await Stopwatch.time {
            for try await _ in store.readAll() { count += 1 }
        }
        try check(count, expected, "read.all")
        return Double(count) / seconds
    }

    /// Reads every stream forward from its start, counting events. Returns events per second.
    static func streams<S: EventStore>(_ store: S, names: [String], expected: Int) async throws -> Double {
        var count = 0
        let seconds = try await Stopwatch.time {
            for name in names {
                for try await _ in store.readStream(name) { count += 1 }
            }
        }
        try check(count, expected, "read.stream")
        return Double(count) / seconds
    }

    static func check(_ count: Int, _ expected: Int, _ workload: String) throws {
        if count != expected {
            throw StrataError.invalidArgument("\(workload) read \(count) events where the store holds \(expected): the backend lost or invented events")
        }
    }
}
