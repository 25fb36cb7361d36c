import ArgumentParser
import AsyncHTTPClient
import Foundation
import Strata
import StrataBench
import StrataCommandLine

/// `strata-bench http` (also `strata bench-http`): the server's workloads (docs/SERVER.md,
/// "Benchmarks"). They live here, beside the server, because the `StrataBench` target depends
/// on the engine only.
struct HTTPBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Measure the HTTP server and its KurrentDB gRPC surface: appends per second (single and in batches of 100), reads of $all, and SSE fan-out latency.",
        discussion: """
            Starts a server on 127.0.0.1 in this process over a fresh store of the kind --store names \
            (file: the log engine with its default durability, sqlite:, memory:; the path is not used), \
            drives it with async-http-client on loopback, and prints the results as `strata bench` does \
            (a table, or one JSON object with --json). Results:
              http.append.single       events/s, one event per request, --connections clients
              http.append.batch100     events/s, 100 events per request, --connections clients
              store.append.batch100    events/s, the same load appended in-process (no HTTP)
              grpc.append.single|batch100  events/s, the same loads as KurrentDB BatchAppend calls \
            (--connections calls at a time on one HTTP/2 connection)
              store.read.all | http.read.all | grpc.read.all   events/s reading $all of a filled \
            store (200k events, 50k with --quick): in-process, HTTP pages of 1,000, one gRPC Read
              http.sse.fanout.p50|p99|max  ms from sending an append to a subscriber reading it, \
            with --subscribers SSE connections on $all and one writer at --rate events/s
              http.sse.fanout.deliveries   events/s delivered over all subscribers
            The open-file limit is raised for the subscribers when it is too low. \
            Build with -c release before trusting the figures.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var report: ReportOptions

    @Flag(help: "A smaller run (a quarter of the requests, 200 fan-out events).")
    var quick = false

    @Option(help: ArgumentHelp("Concurrent client connections of the append workloads.", valueName: "N"))
    var connections = 16

    @Option(help: ArgumentHelp("SSE subscribers of the fan-out workload.", valueName: "N"))
    var subscribers = 1_000

    @Option(help: ArgumentHelp("Events per second the fan-out writer appends.", valueName: "N"))
    var rate = 50.0

    static let resultNames = [
        "http.append.single", "http.append.batch100", "store.append.batch100", "ratio.http.append.batch100.store",
        "grpc.append.single", "grpc.append.batch100", "ratio.grpc.append.batch100.store",
        "store.read.all", "http.read.all", "grpc.read.all", "ratio.http.read.all.store", "ratio.grpc.read.all.store",
        "http.sse.fanout.p50", "http.sse.fanout.p99", "http.sse.fanout.max", "http.sse.fanout.deliveries",
    ]

    func validate() throws {
        guard connections > 0, subscribers > 0, rate > 0 else {
            throw ValidationError("--connections, --subscribers and --rate must be positive")
        }
    }

    func run() async throws {
        let url = try global.storeURL()
        let workDirectory = try report.workDirectory()
        let only = report.only
        var selected = Set(Self.resultNames.filter { name in only.isEmpty || only.contains { name.hasPrefix($0) } })
        guard !selected.isEmpty else {
            throw CommandFailure.usage("--only \(only.joined(separator: ", ")) matches no benchmark; names: \(Self.resultNames.joined(separator: ", "))")
        }
        if selected.contains("ratio.http.append.batch100.store") { selected.formUnion(["http.append.batch100", "store.append.batch100"]) }
        if selected.contains("ratio.grpc.append.batch100.store") { selected.formUnion(["grpc.append.batch100", "store.append.batch100"]) }
        if selected.contains("ratio.http.read.all.store") { selected.formUnion(["http.read.all", "store.read.all"]) }
        if selected.contains("ratio.grpc.read.all.store") { selected.formUnion(["grpc.read.all", "store.read.all"]) }
        let progress = { (line: String) in StandardOutput.stderr.writeLine("bench-http: " + line, flushing: true) }

        var results: [BenchResult] = []
        let appendClient = Self.client(connections: connections)
        do {
            results = try await runWorkloads(selected, url: url, workDirectory: workDirectory, client: appendClient, progress: progress)
            try await appendClient.shutdown()
        } catch {
            try? await appendClient.shutdown()
            throw error
        }

        report.print(BenchReport(backend: "http+" + url.kind, scale: quick ? "quick" : "full", workDirectory: workDirectory, results: results),
                     subcommand: Self.configuration.commandName!, label: "bench-http")
    }

    /// A client that keeps up to `connections` connections to the server open at once.
    static func client(connections: Int) -> HTTPClient {
        let pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: pool))
    }

    /// Runs the selected workloads, each against its own server and store; returns their results.
    private func runWorkloads(_ selected: Set<String>, url: StoreURL, workDirectory: String, client appendClient: HTTPClient,
                              progress: (String) -> Void) async throws -> [BenchResult] {
        let singleRequests = quick ? 5_000 : 20_000
        let batchRequests = quick ? 750 : 3_000
        let fanOutEvents = quick ? 200 : 500
        var results: [BenchResult] = []

        /// One append workload against a fresh server: over HTTP, gRPC, or in-process.
        enum Surface { case http, grpc, inProcess }
        func appendLoad(_ name: String, requests: Int, batch: Int, through surface: Surface, _ description: String) async throws {
            guard selected.contains(name) else { return }
            progress("\(name): \(description)")
            let server = try await HTTPBenchServer.start(url, parent: workDirectory, subscribers: 0)
            let load = HTTPAppendLoad(connections: connections, requests: requests, batch: batch)
            let label = batch == 1 ? "single" : "batch"
            let rate = try await measure(server) {
                switch surface {
                case .inProcess: try await load.runInProcess(store: server.store, label: label)
                case .http: try await load.runHTTP(client: appendClient, baseURL: server.baseURL, label: label)
                case .grpc: try await KurrentLoad(connections: connections, requests: requests, batch: batch).runGRPC(port: server.grpcPort, label: label)
                }
            }
            results.append(BenchResult(name: name, value: rate, unit: "events/s"))
        }
        func ratio(_ name: String, _ top: String, _ bottom: String) {
            guard selected.contains(name), let a = results.first(where: { $0.name == top })?.value,
                  let b = results.first(where: { $0.name == bottom })?.value, b > 0 else { return }
            results.append(BenchResult(name: name, value: a / b, unit: "x"))
        }
        try await appendLoad("http.append.single", requests: singleRequests, batch: 1, through: .http,
                             "\(singleRequests) requests of 1 event over \(connections) connections")
        try await appendLoad("http.append.batch100", requests: batchRequests, batch: 100, through: .http,
                             "\(batchRequests) requests of 100 events over \(connections) connections")
        try await appendLoad("grpc.append.single", requests: singleRequests, batch: 1, through: .grpc,
                             "\(singleRequests) BatchAppend calls of 1 event, \(connections) at a time")
        try await appendLoad("grpc.append.batch100", requests: batchRequests, batch: 100, through: .grpc,
                             "\(batchRequests) BatchAppend calls of 100 events, \(connections) at a time")
        try await appendLoad("store.append.batch100", requests: batchRequests, batch: 100, through: .inProcess, "the same load in-process")
        ratio("ratio.http.append.batch100.store", "http.append.batch100", "store.append.batch100")
        ratio("ratio.grpc.append.batch100.store", "grpc.append.batch100", "store.append.batch100")
        if !selected.isDisjoint(with: ["store.read.all", "http.read.all", "grpc.read.all"]) {
            let events = quick ? 50_000 : 200_000
            progress("read.all: $all of \(events) events in-process, over HTTP and over gRPC, one server")
            let server = try await HTTPBenchServer.start(url, parent: workDirectory, subscribers: 0)
            try await measure(server) {
                try await KurrentLoad.fill(server.store, events: events)
                if selected.contains("store.read.all") {
                    results.append(BenchResult(name: "store.read.all", value: try await KurrentLoad.readStore(server.store), unit: "events/s"))
                }
                if selected.contains("http.read.all") {
                    results.append(BenchResult(name: "http.read.all", value: try await KurrentLoad.readHTTP(client: appendClient, baseURL: server.baseURL, pageSize: 1_000),
                                               unit: "events/s"))
                }
                if selected.contains("grpc.read.all") {
                    results.append(BenchResult(name: "grpc.read.all", value: try await KurrentLoad.readGRPC(port: server.grpcPort), unit: "events/s"))
                }
            }
            ratio("ratio.http.read.all.store", "http.read.all", "store.read.all")
            ratio("ratio.grpc.read.all.store", "grpc.read.all", "store.read.all")
        }
        if !selected.isDisjoint(with: Self.resultNames.filter { $0.hasPrefix("http.sse.") }) {
            let limit = FileDescriptorLimit.raise(to: 2 * subscribers + 256)
            progress("http.sse.fanout: \(subscribers) subscribers, \(fanOutEvents) events at \(Int(rate))/s (open-file limit \(limit))")
            let sseClient = Self.client(connections: subscribers + 1)
            let server = try await HTTPBenchServer.start(url, parent: workDirectory, subscribers: subscribers)
            let outcome: SSEFanOut.Outcome
            do {
                outcome = try await measure(server) {
                    try await SSEFanOut(subscribers: subscribers, events: fanOutEvents, rate: rate).run(client: sseClient, baseURL: server.baseURL)
                }
                try await sseClient.shutdown()
            } catch {
                try? await sseClient.shutdown()
                throw error
            }
            let ms = { (q: Double) in Double(LatencySamples.quantile(outcome.latencies, q)) / 1e6 }
            results += [
                BenchResult(name: "http.sse.fanout.p50", value: ms(0.50), unit: "ms"),
                BenchResult(name: "http.sse.fanout.p99", value: ms(0.99), unit: "ms"),
                BenchResult(name: "http.sse.fanout.max", value: ms(1.0), unit: "ms"),
                BenchResult(name: "http.sse.fanout.deliveries", value: outcome.deliveriesPerSecond, unit: "events/s"),
            ]
        }
        return results.filter { selected.contains($0.name) }
    }

    /// Runs `body` against `server`, then stops the server whatever happened.
    private func measure<T>(_ server: HTTPBenchServer, _ body: () async throws -> T) async throws -> T {
        do {
            let value = try await body()
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }
}

