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
