import Strata

/// What opening a store cost: the time to a fresh open plus the first `headPosition()`, and the
/// process's resident memory right after.
public struct OpenMeasurement: Sendable, Hashable {
    /// Milliseconds from calling open to `headPosition()` returning.
    public let milliseconds: Double
    /// VmRSS after the open, in bytes (nil where `/proc` is missing).
    public let residentBytes: Int64?
    /// RssAnon after the open, in bytes: resident memory without file pages (nil where `/proc` is missing).
    public let anonymousBytes: Int64?
    /// The head position the store reported.
    public let headPosition: UInt64

    /// Creates a measurement.
    public init(milliseconds: Double, residentBytes: Int64?, anonymousBytes: Int64? = nil, headPosition: UInt64) {
        self.milliseconds = milliseconds
        self.residentBytes = residentBytes
        self.anonymousBytes = anonymousBytes
        self.headPosition = headPosition
    }
}

/// Open time and memory of large stores.
public enum OpenWorkload {
    /// Streams the store's events are spread over.
    static let streamCount = 100_000
    /// Events per stream run inside one append (each batch of 1000 covers 100 streams).
    static let runLength = 10

    /// Fills `directory` with `events` events: batches of 1000, durability none, each batch 100
    /// runs of 10 events on consecutive streams out of 100,000. Reports progress every 10%.
    static func build<B: BenchBackend>(_ backend: B, events: Int, directory: String,
                                       progress: (Int) -> Void) async throws {
        let streams = BenchEvents.streamNames("stream", count: streamCount)
        var factory = BenchEvents()
        let store = try await backend.open(directory: directory, durability: .none)
        let runsPerBatch = 1000 / runLength
        let batches = events / 1000
        var run = 0
        do {
            for b in 0..<batches {
                var requests: [AppendRequest] = []
                requests.reserveCapacity(runsPerBatch)
                for _ in 0..<runsPerBatch {
                    requests.append(AppendRequest(stream: streams[run % streams.count], events: factory.batch(runLength)))
                    run += 1
                }
                try await store.append(requests)
                if (b + 1) % Swift.max(1, batches / 10) == 0 { progress((b + 1) * 1000) }
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// In the store `build` filled: reads `streams` streams picked at random (a fixed seed) in
    /// full, then appends 10,000 events with new ids in batches of 100 (each id checked against
    /// the whole store for idempotency). Returns events per second of each.
    public static func readAndAppend<B: BenchBackend>(_ backend: B, directory: String, streams count: Int) async throws -> (readStream: Double, append: Double) {
        let names = BenchEvents.streamNames("stream", count: streamCount)
        let store = try await backend.open(directory: directory, durability: .none)
        do {
            var seed: UInt64 = 20
            var read = 0
            let readSeconds = try await Stopwatch.time {
                for _ in 0..<count {
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    for try await _ in store.readStream(names[Int(seed >> 33) % names.count]) { read += 1 }
                }
            }
            var factory = BenchEvents()
            let appendSeconds = try await Stopwatch.time {
                for b in 0..<100 {
                    _ = try await store.append([AppendRequest(stream: "appended-\(b % 10)", events: factory.batch(100))])
                }
            }
            try await store.close()
            return (Double(read) / readSeconds, 10_000 / appendSeconds)
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Opens the store in `directory` in this process and measures it. The resident figure
    /// includes whatever the process held before; a fresh child process gives a cleaner one.
    public static func measure<B: BenchBackend>(_ backend: B, directory: String) async throws -> OpenMeasurement {
        let start = Stopwatch.now()
        let store = try await backend.open(directory: directory, durability: .fsync)
        let head: UInt64
        do {
            head = try await store.headPosition()
        } catch {
            try? await store.close()
            throw error
        }
        let milliseconds = Stopwatch.seconds(since: start) * 1000
        let resident = ResidentMemory.current()
        let anonymous = ResidentMemory.anonymous()
        try await store.close()
        return OpenMeasurement(milliseconds: milliseconds, residentBytes: resident, anonymousBytes: anonymous, headPosition: head)
    }
}
