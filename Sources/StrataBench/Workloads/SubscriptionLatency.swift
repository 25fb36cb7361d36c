import Strata

/// End-to-end subscription latency: from just before `append` is called to the moment a live
/// `$all` subscriber receives the event. One event in flight at a time, durability none.
enum SubscriptionLatency {
    /// Samples taken before measuring, to warm caches and the subscriber's wait path.
    static let warmup = 200

    /// Returns the sorted latencies in nanoseconds.
    static func measure<B: BenchBackend>(_ backend: B, samples: Int, in parent: String) async throws -> [UInt64] {
        let scratch = try ScratchDirectory(parent: parent, name: "subscribe-latency")
        defer { scratch.remove() }
        let store = try await backend.open(directory: scratch.path, durability: .none)
        // The subscriber reports `caughtUp` once (which tells the writer it is live) and then the
        // time it received each event.
        let (signals, signal) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .unbounded)
        let subscriber = Task {
            defer { signal.finish() }
            for try await message in store.subscribeToAll(from: .end) {
                switch message {
                case .event: signal.yield(Stopwatch.now())
                case .caughtUp: signal.yield(0)
                case .checkpoint: break
                }
            }
        }
        var received = signals.makeAsyncIterator()
        var latencies: [UInt64] = []
        latencies.reserveCapacity(samples)
        do {
            guard await received.next() == 0 else {
                throw StrataError.invalidArgument("the subscription did not report that it caught up")
            }
            var factory = BenchEvents()
            for i in 0..<(warmup + samples) {
                let event = factory.next()
                let sent = Stopwatch.now()
                try await store.append(to: "latency", event: event)
                guard let arrived = await received.next() else {
                    throw StrataError.invalidArgument("the subscription ended before event \(i + 1) arrived")
                }
                if i >= warmup { latencies.append(arrived - sent) }
            }
        } catch {
            subscriber.cancel()
            try? await store.close()
            throw error
        }
        subscriber.cancel()
        signal.finish()
        try await store.close()
        _ = await subscriber.result
        return latencies.sorted()
    }
}
