import Foundation
import Logging
import ServiceLifecycle
import Strata
import StrataConsumers
import StrataEmitter
import StrataServer

/// The durable emitter: `emit` into the outbox (durable once the final flush returns), and
/// shipping the outbox to a local Strata server's `POST /ingest`.
enum EmitterWorkloads {
    static let source = SourceIdentity(id: "bench-1", name: "bench", class: "BenchService", region: "local")
    /// A ~70-byte event payload.
    static let payload = Data(#"{"userId":"u-12345","action":"click","page":"/pricing","n":42}"#.utf8)

    /// Emits `count` events and flushes. Returns events per second into the outbox (the final
    /// flush included) and the rate of the `emit` calls alone (the caller's cost).
    static func emit(_ store: any EventStore, count: Int) async throws -> (outbox: Double, calls: Double) {
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: source, maxPendingEvents: count + 1))
        let start = Stopwatch.now()
        for _ in 0 ..< count { try emitter.emit(EmitterEvent(type: "user.action", data: payload)) }
        let calls = Stopwatch.seconds(since: start)
        try await emitter.flush(timeout: .seconds(600))
        let seconds = Stopwatch.seconds(since: start)
        try ReadWorkloads.check(Int(try await store.streamInfo("outbox").lastRevision), count, "emitter.emit")
        try await emitter.close()
        return (Double(count) / seconds, Double(count) / calls)
    }

    /// Ships `count` outbox events to a Strata server over memory on a free loopback port, in
    /// batches of `batchSize`. Returns events per second, from start until the server holds them all.
    static func ship(_ outbox: any EventStore, count: Int, batchSize: Int, progress: (String) -> Void) async throws -> Double {
        var logger = Logger(label: "strata.bench.server")
        logger.logLevel = .warning
        let receiving = InMemoryEventStore()
        let server = try StrataHTTPServer(store: receiving, configuration: ServerConfiguration(port: 0), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let port = try await server.waitUntilRunning()
        progress("  emitting \(count) events into the outbox")
        let emitter = try await Emitter.open(store: outbox, options: EmitterOptions(source: source, maxPendingEvents: count + 1))
        for _ in 0 ..< count { try emitter.emit(EmitterEvent(type: "user.action", data: payload)) }
        try await emitter.close(timeout: .seconds(600))
        let shipper = try EventShipper(store: outbox, checkpoints: MemoryCheckpointStore(),
                                       options: ShipperOptions(endpoint: "http://127.0.0.1:\(port)/ingest", batchSize: batchSize,
                                                               flushInterval: .milliseconds(5), name: "bench-\(batchSize)"))
        progress("  shipping them to http://127.0.0.1:\(port)/ingest in batches of \(batchSize)")
        let seconds = try await Stopwatch.time {
            shipper.start()
            try await shipper.flush(timeout: .seconds(600))
        }
        await shipper.stop()
        try ReadWorkloads.check(Int(try await receiving.headPosition()), count, "emitter.ship.batch\(batchSize)")
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        return Double(count) / seconds
    }
}

extension Benchmark {
    static var emitterWorkloads: [Workload<Backend>] {
        var list: [Workload<Backend>] = []
        for durability in [BenchDurability.fsync, .none] {
            let name = "emitter.emit.\(durability.rawValue)"
            list.append(Workload([name, name + ".calls"]) { c in
                let scratch = try ScratchDirectory(parent: c.directory, name: "emitter-\(durability.rawValue)")
                defer { scratch.remove() }
                let store = try await c.backend.open(directory: scratch.path, durability: durability)
                c.options.progress("  emitting \(c.scale.emitterEvents) events into an outbox (\(durability.rawValue))")
                let rates = try await EmitterWorkloads.emit(store, count: c.scale.emitterEvents)
                try await store.close()
                return [BenchResult(name: name, value: rates.outbox, unit: "events/s"),
                        BenchResult(name: name + ".calls", value: rates.calls, unit: "calls/s")]
            })
        }
        for batch in [100, 1000] {
            let name = "emitter.ship.batch\(batch)"
            list.append(Workload([name]) { c in
                let scratch = try ScratchDirectory(parent: c.directory, name: "ship-\(batch)")
                defer { scratch.remove() }
                let store = try await c.backend.open(directory: scratch.path, durability: .none)
                let rate = try await EmitterWorkloads.ship(store, count: c.scale.shippedEvents, batchSize: batch, progress: c.options.progress)
                try await store.close()
                return [BenchResult(name: name, value: rate, unit: "events/s")]
            })
        }
        return list
    }
}
