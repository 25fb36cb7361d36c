import Foundation
import Strata
import StrataJetStream
import StrataNATS
import StrataJSON

/// The JetStream backend: each workload "directory" maps to its own store (JetStream stream
/// `STRATA_bench_<hash of the path>`), so that reopening a directory reopens its store.
/// Durability has no effect: a JetStream publish is acknowledged once the stream leader (and, in
/// a cluster, a quorum of replicas) has stored it, whatever the server's `sync_interval`.
public struct JetStreamBenchBackend: BenchBackend {
    /// The servers, as `nats://` URLs (comma-separated for a cluster).
    public let url: String

    /// Creates the backend for a server or cluster.
    public init(url: String) { self.url = url }

    /// The backend's name in results.
    public var name: String { "jetstream" }
    /// Stores persist in their JetStream streams.
    public var persists: Bool { true }

    /// Opens (creating) the store of `directory`'s stream.
    public func open(directory: String, durability: BenchDurability) async throws -> JetStreamEventStore {
        var configuration = try JetStreamStoreConfiguration(urls: [url], store: JetStreamBench.storeName(for: directory))
        // The benchmark's events are small: a server with the default 1 MiB max_payload will do.
        configuration.limits = EventLimits(maxEventSize: 512 * 1024)
        return try await JetStreamEventStore.open(configuration)
    }
}

/// Helpers of the JetStream workloads.
enum JetStreamBench {
    static let storePrefix = "bench_"

    /// A store name that is a function of a path (FNV-1a, 64 bits).
    static func storeName(for path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return storePrefix + String(hash, radix: 16)
    }

    /// Deletes every benchmark stream (`STRATA_bench_*` and their indexes `STRATAIX_bench_*`,
    /// and the raw baselines' streams).
    static func deleteStreams(url: String) async throws {
        let connection = try await NATSConnection.connect(try NATSConfiguration(urls: [url]))
        let js = JetStream(connection: connection)
        struct Names: Decodable { var streams: [String]? }
        struct Empty: Encodable {}
        let reply = try await connection.request("$JS.API.STREAM.NAMES", payload: Array("{}".utf8))
        let names = (try? StrataJSONDecoder().decode(Names.self, from: Data(reply.payload.readableBytesView)).streams) ?? []
        for name in names ?? [] where name.hasPrefix("STRATA_" + storePrefix) || name.hasPrefix("STRATAIX_" + storePrefix) || name.hasPrefix("STRATA_RAW_BENCH") {
            try? await js.deleteStream(name)
        }
        try await connection.close()
    }

    /// The Swift client's raw JetStream publish: `publishers` concurrent tasks publish 200-byte
    /// messages, each awaiting its acknowledgement. Returns messages per second.
    static func rawPublish(url: String, publishers: Int, total: Int) async throws -> Double {
        let connection = try await NATSConnection.connect(try NATSConfiguration(urls: [url]))
        let js = JetStream(connection: connection)
        let stream = "STRATA_RAW_BENCH_SWIFT"
        try? await js.deleteStream(stream)
        _ = try await js.createStream(JetStreamStreamConfig(name: stream, subjects: ["rawbench.swift"]))
        let payload = [UInt8](repeating: 120, count: 200)
        let per = Swift.max(1, total / publishers)
        let seconds = try await Stopwatch.time {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0 ..< publishers {
                    group.addTask { for _ in 0 ..< per { _ = try await js.publish("rawbench.swift", payload: payload) } }
                }
                try await group.waitForAll()
            }
        }
        try? await js.deleteStream(stream)
        try await connection.close()
        return Double(per * publishers) / seconds
    }

    /// nats-py's raw JetStream publish (the independent baseline): `publishers` asyncio tasks
    /// publish 200-byte messages, each awaiting its acknowledgement. Needs `python3` with nats-py.
    static func natsPyPublish(url: String, publishers: Int, total: Int, in directory: String) async throws -> Double {
        let script = URL(fileURLWithPath: directory).appendingPathComponent("strata-natspy-bench-\(UUID().uuidString).py")
        try natsPyScript.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let output = URL(fileURLWithPath: directory).appendingPathComponent("strata-natspy-bench-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, url, String(publishers), String(Swift.max(1, total / publishers))]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        struct Answer: Decodable { var count: Int; var seconds: Double }
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").last,
              let answer = try? StrataJSONDecoder().decode(Answer.self, from: Data(line.utf8)) else {
            throw StrataError.invalidArgument("the nats-py baseline failed (needs python3 and `pip install nats-py`): \(text.suffix(500))")
        }
        return Double(answer.count) / answer.seconds
    }

    static let natsPyScript = """
    import asyncio, json, sys, time
    import nats

    async def main():
        url, publishers, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        nc = await nats.connect(url)
        js = nc.jetstream()
        stream = "STRATA_RAW_BENCH_PY"
        try:
            await js.delete_stream(stream)
        except Exception:
            pass
        await js.add_stream(name=stream, subjects=["rawbench.py"])
        payload = b"x" * 200

        async def publisher():
            for _ in range(per):
                await js.publish("rawbench.py", payload)

        start = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(publishers)))
        seconds = time.perf_counter() - start
        await js.delete_stream(stream)
        await nc.close()
        print(json.dumps({"count": publishers * per, "seconds": seconds}))

    asyncio.run(main())
    """
}

extension Benchmark {
    /// The JetStream comparison (with `--nats URL`): the JetStream backend appending single
    /// events (1 and 64 writers), batches of 100, and 8 writers of batches of 10 (checked
    /// gap-free), beside raw JetStream publishes of 200-byte messages by this package's client
    /// and by nats-py, each awaiting its acknowledgement.
    static var jetStreamWorkloads: [Workload<Backend>] {
        func backend(_ c: WorkloadContext<Backend>) -> JetStreamBenchBackend { JetStreamBenchBackend(url: c.options.natsURL!) }
        return [
            Workload(["jetstream.append.single.c1"], needsNATS: true) { c in
                let rate = try await AppendWorkloads.concurrentSingles(backend(c), appenders: 1, perAppender: c.scale.singlePerAppender[1] ?? 300,
                                                                       durability: .fsync, in: c.directory)
                try await JetStreamBench.deleteStreams(url: c.options.natsURL!)
                return [BenchResult(name: "jetstream.append.single.c1", value: rate, unit: "events/s")]
            },
            Workload(["jetstream.append.single.c64"], needsNATS: true) { c in
                let rate = try await AppendWorkloads.concurrentSingles(backend(c), appenders: 64, perAppender: c.scale.singlePerAppender[64] ?? 100,
                                                                       durability: .fsync, in: c.directory)
                try await JetStreamBench.deleteStreams(url: c.options.natsURL!)
                return [BenchResult(name: "jetstream.append.single.c64", value: rate, unit: "events/s")]
            },
            Workload(["jetstream.append.batch100"], needsNATS: true) { c in
                let rate = try await AppendWorkloads.batched(backend(c), batchSize: 100, total: c.scale.concurrentBatches, durability: .fsync, in: c.directory)
                try await JetStreamBench.deleteStreams(url: c.options.natsURL!)
                return [BenchResult(name: "jetstream.append.batch100", value: rate, unit: "events/s")]
            },
            Workload(["jetstream.append.c8.batch10"], needsNATS: true) { c in
                let rate = try await AppendWorkloads.concurrentBatches(backend(c), writers: 8, batchSize: 10, total: c.scale.concurrentBatches,
                                                                       durability: .fsync, in: c.directory)
                try await JetStreamBench.deleteStreams(url: c.options.natsURL!)
                return [BenchResult(name: "jetstream.append.c8.batch10", value: rate, unit: "events/s")]
            },
            Workload(["jetstream.raw.publish.c1", "jetstream.raw.publish.c64"], needsNATS: true) { c in
                let url = c.options.natsURL!
                var results: [BenchResult] = []
                if c.wants("jetstream.raw.publish.c1") {
                    let rate = try await JetStreamBench.rawPublish(url: url, publishers: 1, total: c.scale.singlePerAppender[1] ?? 300)
                    results.append(BenchResult(name: "jetstream.raw.publish.c1", value: rate, unit: "messages/s"))
                }
                if c.wants("jetstream.raw.publish.c64") {
                    let rate = try await JetStreamBench.rawPublish(url: url, publishers: 64, total: 64 * (c.scale.singlePerAppender[64] ?? 100))
                    results.append(BenchResult(name: "jetstream.raw.publish.c64", value: rate, unit: "messages/s"))
                }
                return results
            },
            Workload(["natspy.publish.c1", "natspy.publish.c64"], needsNATS: true) { c in
                let url = c.options.natsURL!
                var results: [BenchResult] = []
                if c.wants("natspy.publish.c1") {
                    let rate = try await JetStreamBench.natsPyPublish(url: url, publishers: 1, total: c.scale.singlePerAppender[1] ?? 300, in: c.directory)
                    results.append(BenchResult(name: "natspy.publish.c1", value: rate, unit: "messages/s"))
                }
                if c.wants("natspy.publish.c64") {
                    let rate = try await JetStreamBench.natsPyPublish(url: url, publishers: 64, total: 64 * (c.scale.singlePerAppender[64] ?? 100),
                                                                      in: c.directory)
                    results.append(BenchResult(name: "natspy.publish.c64", value: rate, unit: "messages/s"))
                }
                return results
            },
        ]
    }

    static var jetStreamRatios: [Ratio] {
        [
            Ratio(name: "ratio.jetstream.append.single.c1.natspy", numerator: "jetstream.append.single.c1", denominator: "natspy.publish.c1"),
            Ratio(name: "ratio.jetstream.append.single.c64.natspy", numerator: "jetstream.append.single.c64", denominator: "natspy.publish.c64"),
            Ratio(name: "ratio.jetstream.raw.publish.c1.natspy", numerator: "jetstream.raw.publish.c1", denominator: "natspy.publish.c1"),
        ]
    }
}
