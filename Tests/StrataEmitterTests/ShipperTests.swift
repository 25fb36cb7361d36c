import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Strata
import StrataJSON
import StrataConsumers
import StrataEmitter
import StrataJSONShapes
import Synchronization
import Testing

@Suite("emitter: shipping")
struct ShipperTests {
    static let source = SourceIdentity(id: "ship-1", name: "shipper-test")

    /// An in-memory outbox, its emitter and a shipper to `endpoint`.
    func setUp(_ endpoint: String, _ configure: (inout ShipperOptions) -> Void = { _ in },
               maxPending: Int = 1_000_000) async throws -> (InMemoryEventStore, Emitter, EventShipper<MemoryCheckpointStore>) {
        let store = InMemoryEventStore()
        var options = ShipperOptions(endpoint: endpoint, backoff: RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)))
        configure(&options)
        let shipper = try EventShipper(store: store, checkpoints: MemoryCheckpointStore(), options: options)
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source, maxPendingEvents: maxPending),
                                             shipper: shipper)
        return (store, emitter, shipper)
    }

    func emit(_ emitter: Emitter, _ count: Int, from first: Int = 0) throws -> [UUID] {
        try (first..<(first + count)).map { n in
            let event = EmitterEvent(type: "tick", data: ["n": .integer(Int64(n))])
            try emitter.emit(event)
            return event.id
        }
    }

    @Test("full batches go at once; the rest waits for the interval or a flush; headers and wire format")
    func batchingBySize() async throws {
        let receiver = try await Receiver()
        let (_, emitter, shipper) = try await setUp(receiver.url) { $0.batchSize = 10; $0.flushInterval = .seconds(30); $0.apiKey = "k-123" }
        let ids = try emit(emitter, 35)
        try await emitter.flush()
        shipper.start()
        try await receiver.waitUntil("three full batches") { $0.flatMap(\.ids).count >= 30 }
        // The 5 left wait for the 30-second interval: a flush sends them now.
        #expect(receiver.received.map(\.events.count) == [10, 10, 10])
        try await shipper.flush(timeout: .seconds(60))
        let received = receiver.received
        #expect(received.map(\.events.count) == [10, 10, 10, 5])
        #expect(received.flatMap(\.ids) == ids.map { $0.uuidString.lowercased() })
        #expect(received.allSatisfy { $0.contentType == "application/json" && $0.authorization == "Bearer k-123" })
        let first = try #require(received.first?.events.first)
        #expect(Set(first.keys) == ["id", "type", "ts", "source", "data"])
        #expect(first["type"] as? String == "tick")
        #expect((first["data"] as? [String: any Sendable])?["n"] as? Double == 0)
        #expect((first["source"] as? [String: any Sendable])?["id"] as? String == "ship-1")
        let ts = try #require(first["ts"] as? String)
        #expect(UTCTime.parseISO8601(ts) != nil && ts.count == 24)
        #expect(shipper.status.deliveredEvents == 35 && emitter.pendingCount == 0)
        await shipper.stop()
        await receiver.stop()
    }

    @Test("a partial batch is sent after the flush interval, in one request")
    func batchingByInterval() async throws {
        let receiver = try await Receiver()
        // The interval is long enough that both emits land inside it even on a loaded machine
        // (under AddressSanitizer 3 s was not).
        let (_, emitter, shipper) = try await setUp(receiver.url) { $0.batchSize = 100; $0.flushInterval = .seconds(6) }
        shipper.start()
        try await shipper.consumer.waitUntilCaughtUp(timeout: .seconds(60))
        let started = ContinuousClock.now
        _ = try emit(emitter, 3)
        try await emitter.flush()
        _ = try emit(emitter, 4, from: 3)
        try await receiver.waitUntil("the interval's batch") { $0.flatMap(\.ids).count >= 7 }
        let elapsed = ContinuousClock.now - started
        #expect(receiver.received.map(\.events.count) == [7])
        #expect(elapsed >= .milliseconds(5900), "sent after \(elapsed), before the 6 s interval")
        await shipper.stop()
        await receiver.stop()
    }

    @Test("a failing endpoint is retried with exponential backoff until it takes the batch")
    func retryWithBackoff() async throws {
        let receiver = try await Receiver { index in (index < 3 ? 503 : 200, nil) }
        let (_, emitter, shipper) = try await setUp(receiver.url) {
            $0.backoff = RetryPolicy(initialDelay: .milliseconds(40), maxDelay: .seconds(1), jitter: 0)
            $0.circuitBreaker = CircuitBreakerOptions(failureThreshold: 10)
        }
        let ids = try emit(emitter, 5)
        try await emitter.flush()
        shipper.start()
        try await shipper.flush(timeout: .seconds(60))
        let received = receiver.received
        #expect(received.map(\.status) == [503, 503, 503, 200])
        #expect(received.allSatisfy { $0.ids == ids.map { $0.uuidString.lowercased() } }, "every attempt sends the same batch")
        let gaps = zip(received.dropFirst(), received).map { $0.at - $1.at }
        for (gap, expected) in zip(gaps, [40, 80, 160]) {
            #expect(gap >= .milliseconds(expected) * 0.9, "gaps \(gaps)")
        }
        let status = shipper.status
        #expect(status.failedRequests == 3 && status.deliveredEvents == 5 && status.circuit == .closed && status.lastError == nil)
        await shipper.stop()
        await receiver.stop()
    }

    @Test("a request slower than the timeout is a failure and is sent again; a bad endpoint is a typed error")
    func httpTimeout() async throws {
        // The first answer takes 6 s; the shipper gives up after 1.5 s and sends the batch again.
        let receiver = try await Receiver { index in (200, index == 0 ? .seconds(6) : nil) }
        let (_, emitter, shipper) = try await setUp(receiver.url) {
            $0.timeout = .milliseconds(1500)
            $0.backoff = RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(20), jitter: 0)
        }
        let ids = try emit(emitter, 3)
        try await emitter.flush()
        shipper.start()
        do { try await shipper.flush(timeout: .seconds(30)) } catch { Issue.record("\(error): \(shipper.status), received \(receiver.received.map(\.index))"); throw error }
        // The slow request failed and a later one delivered: the shipper did not wait for the
        // slow answer (it would then count no failure). A loaded machine may time out more.
        let status = shipper.status
        #expect(status.failedRequests >= 1 && status.deliveredEvents == 3 && status.lastError == nil)
        let resent = receiver.received.filter { $0.index > 0 }
        #expect(!resent.isEmpty && resent.allSatisfy { $0.ids == ids.map { $0.uuidString.lowercased() } })
        await shipper.stop()
        await receiver.stop()
        for endpoint in ["ftp://example.com/ingest", "not a url", "http://"] {
            #expect(throws: EmitterError.invalidEndpoint(endpoint)) {
                _ = try EventShipper(store: InMemoryEventStore(), checkpoints: MemoryCheckpointStore(), options: ShipperOptions(endpoint: endpoint))
            }
        }
    }

    @Test("the circuit opens after N failures, probes half-open after the reset time, and closes on success; the log and the metrics show it")
    func circuitBreaker() async throws {
        let failing = Locked<Bool>(true)
        let receiver = try await Receiver { _ in (failing.withLock { $0 } ? 500 : 200, nil) }
        let log = InMemoryLogHandler()
        let metrics = TestMetrics()
        let (_, emitter, shipper) = try await setUp(receiver.url) {
            $0.backoff = RetryPolicy(initialDelay: .milliseconds(5), maxDelay: .milliseconds(10), jitter: 0)
            $0.circuitBreaker = CircuitBreakerOptions(failureThreshold: 3, resetTimeout: .milliseconds(500))
            $0.logger = Logger(label: "test") { _ in log }
            $0.metrics = metrics
        }
        _ = try emit(emitter, 4)
        try await emitter.flush()
        shipper.start()
        try await shipper.waitForStatus("the circuit to open", timeout: .seconds(60)) { $0.circuit == .open }
        #expect(receiver.received.count == 3)
        let named = [("shipper", shipper.options.name)]
        #expect(try metrics.expectGauge("strata_shipper_circuit_state", named).lastValue == 2)
        // Open: nothing is sent until the reset time; then one probe, which fails: open again.
        try await shipper.waitForStatus("a half-open probe", timeout: .seconds(60)) { $0.circuit == .halfOpen }
        try await shipper.waitForStatus("the circuit to open again", timeout: .seconds(60)) { $0.circuit == .open && $0.timesOpened == 2 }
        let received = receiver.received
        #expect(received.count == 4)
        #expect(received[3].at - received[2].at >= .milliseconds(450), "the probe came \(received[3].at - received[2].at) after the third failure")
        failing.withLock { $0 = false }
        try await shipper.waitForStatus("a second probe", timeout: .seconds(60)) { $0.circuit == .halfOpen && $0.probes == 2 }
        try await shipper.waitForStatus("the circuit to close", timeout: .seconds(60)) { $0.circuit == .closed }
        try await shipper.flush(timeout: .seconds(60))
        let status = shipper.status
        #expect(status.deliveredEvents == 4 && status.consecutiveFailures == 0 && status.timesOpened == 2)
        #expect(receiver.received.count == 5)
        // The breaker's moves are in the log: two openings, two probes, one closing, four failures.
        let messages = log.entries.map { "\($0.message)" }
        #expect(messages.filter { $0.hasPrefix("shipper circuit opened") }.count == 2, "\(messages)")
        #expect(messages.filter { $0.hasPrefix("shipper circuit half-open") }.count == 2)
        #expect(messages.filter { $0.hasPrefix("shipper circuit closed") }.count == 1)
        #expect(messages.filter { $0.hasPrefix("shipper delivery failed") }.count == 4)
        // And in the metrics: four failed requests, the events delivered, the circuit closed.
        #expect(try metrics.expectCounter("strata_shipper_failures_total", named).totalValue == 4)
        #expect(try metrics.expectCounter("strata_shipper_events_total", named).totalValue == 4)
        #expect(try metrics.expectCounter("strata_shipper_batches_total", named).totalValue >= 1)
        #expect(try metrics.expectGauge("strata_shipper_circuit_state", named).lastValue == 0)
        #expect(try metrics.expectGauge("strata_shipper_position", named).lastValue == Double(status.deliveredThrough))
        await shipper.stop()
        await receiver.stop()
    }

    @Test("at the size cap emit throws outboxFull, stores nothing, and accepts again once delivered; nothing is lost")
    func sizeCap() async throws {
        let failing = Locked<Bool>(true)
        let receiver = try await Receiver { _ in (failing.withLock { $0 } ? 503 : 200, nil) }
        let (store, emitter, shipper) = try await setUp(receiver.url, {
            $0.batchSize = 5
            $0.flushInterval = .milliseconds(10)
            $0.circuitBreaker = CircuitBreakerOptions(failureThreshold: 3, resetTimeout: .milliseconds(100))
        },
                                                        maxPending: 20)
        shipper.start()
        var ids = try emit(emitter, 20)
        #expect(throws: EmitterError.outboxFull(pending: 20, limit: 20)) { try emitter.emit(.track("one too many")) }
        try await emitter.flush()
        try await shipper.waitForStatus("failures", timeout: .seconds(60)) { $0.failedRequests >= 2 }
        #expect(throws: EmitterError.outboxFull(pending: 20, limit: 20)) { try emitter.emit(.track("still too many")) }
        #expect(try await store.readStream("outbox").collect().count == 20)
        failing.withLock { $0 = false }
        try await shipper.flush(timeout: .seconds(60))
        #expect(emitter.pendingCount == 0)
        ids += try emit(emitter, 20, from: 20)
        try await emitter.flush()
        try await shipper.flush(timeout: .seconds(60))
        #expect(receiver.deliveredIDs == Set(ids.map { $0.uuidString.lowercased() }))
        #expect(try await store.readStream("outbox").collect().map(\.id) == ids)
        await shipper.stop()
        await receiver.stop()
    }

    /// A transport that takes every batch.
    struct NullTransport: EventTransport {
        func send(_ body: [UInt8], count: Int) async throws {}
    }

    @Test("a shipper whose checkpoint is beyond the store's head fails with checkpointAheadOfStore, and so does its emitter's open")
    func checkpointAheadOfStore() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let options = ShipperOptions(endpoint: "http://127.0.0.1:9/ingest")
        try await checkpoints.resetCheckpoint(for: options.name, to: 7)
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source))
        _ = try emit(emitter, 3)
        try await emitter.flush()
        try await emitter.close()
        let shipper = try EventShipper(store: store, checkpoints: checkpoints, options: options, transport: NullTransport())
        let expected = StrataError.checkpointAheadOfStore(consumer: options.name, checkpoint: 7, head: 3)
        await #expect(throws: expected) { try await shipper.run() }
        await #expect(throws: expected) {
            try await Emitter.open(store: store, options: EmitterOptions(source: Self.source), shipper: shipper)
        }
        #expect(shipper.status.deliveredEvents == 0)
    }

    @Test("a restarted shipper resumes after its checkpoint, and the emitter's cap counts from it")
    func restartResumes() async throws {
        let receiver = try await Receiver()
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let options = ShipperOptions(endpoint: receiver.url, batchSize: 10, flushInterval: .milliseconds(10))
        let first = try EventShipper(store: store, checkpoints: checkpoints, options: options)
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source, maxPendingEvents: 100), shipper: first)
        let ids = try emit(emitter, 30)
        try await emitter.flush()
        first.start()
        try await first.flush()
        await first.stop()
        try await emitter.close()
        let second = try EventShipper(store: store, checkpoints: checkpoints, options: options)
        let reopened = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source, maxPendingEvents: 100), shipper: second)
        #expect(reopened.pendingCount == 0)
        let later = try emit(reopened, 15, from: 30)
        #expect(reopened.pendingCount == 15)
        try await reopened.flush()
        second.start()
        try await second.flush()
        #expect(receiver.accepted.flatMap(\.ids) == (ids + later).map { $0.uuidString.lowercased() }, "nothing re-sent after the checkpoint")
        #expect(reopened.pendingCount == 0)
        await second.stop()
        await receiver.stop()
    }

    @Test("other streams by prefix: CDC changes are shipped with their metadata's ts and the default source; other streams are not")
    func otherStreams() async throws {
        let receiver = try await Receiver()
        let store = InMemoryEventStore()
        let options = ShipperOptions(endpoint: receiver.url, streams: ["outbox", "cdc-"], flushInterval: .milliseconds(10),
                                     defaultSource: SourceIdentity(id: "documents-1", class: "DocumentStore"))
        let shipper = try EventShipper(store: store, checkpoints: MemoryCheckpointStore(), options: options)
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source), shipper: shipper)
        let change = EventData(type: "collection.insert", json: #"{"collection":"users","docId":"u1","doc":{"name":"Ada"}}"#,
                               metadata: #"{"ts":"2026-11-23T10:00:00.000Z","bookmark":1}"#)
        let binary = EventData(type: "blob", data: Data([0, 1, 2, 255]), contentType: "application/octet-stream")
        _ = try await store.append(to: "cdc-users", events: [change, binary])
        _ = try await store.append(to: "orders-1", events: [EventData(type: "not-shipped", json: "{}")])
        let emitted = EmitterEvent.lifecycle("start")
        try await emitter.emitDurably(emitted)
        shipper.start()
        try await shipper.flush(timeout: .seconds(60))
        let events = receiver.accepted.flatMap(\.events)
        #expect(events.compactMap { $0["type"] as? String } == ["collection.insert", "blob", "lifecycle.start"])
        #expect(events[0]["ts"] as? String == "2026-11-23T10:00:00.000Z")
        #expect((events[0]["source"] as? [String: any Sendable])?["class"] as? String == "DocumentStore")
        #expect(((events[0]["data"] as? [String: any Sendable])?["doc"] as? [String: any Sendable])?["name"] as? String == "Ada")
        #expect(events[1]["data"] as? String == Data([0, 1, 2, 255]).base64EncodedString())
        #expect((events[1]["ts"] as? String)?.count == 24, "the record time when the metadata has no ts")
        #expect((events[2]["source"] as? [String: any Sendable])?["id"] as? String == "ship-1")
        #expect(emitter.pendingCount == 0)
        await shipper.stop()
        await receiver.stop()
    }

    @Test("end to end: shipped into StrataServer's /ingest, stored in ingest-<source.id> with the source in the metadata")
    func endToEndIngest() async throws {
        let server = try await IngestServer()
        let (outbox, emitter, shipper) = try await setUp(server.url) { $0.batchSize = 50; $0.flushInterval = .milliseconds(20) }
        shipper.start()
        var ids: [UUID] = []
        for chunk in 0..<5 {
            ids += try emit(emitter, 50, from: chunk * 50)
            try emitter.emit(.rpcCall(method: "m", durationMs: 3, success: true).with { ids.append($0.id) })
        }
        try await emitter.flush()
        try await shipper.flush(timeout: .seconds(60))
        let stored = try await server.store.readStream("ingest-ship-1").collect()
        #expect(stored.map(\.id) == ids)
        let metadata = try metadataObject(stored[0])
        #expect(metadata["source"] as? [String: String] == ["id": "ship-1", "name": "shipper-test"])
        #expect((metadata["ts"] as? String)?.count == 24)
        #expect(stored.last?.type == "rpc.call")
        await shipper.stop()
        // Everything shipped again (a fresh checkpoint): the server deduplicates by id.
        let again = try EventShipper(store: outbox, checkpoints: MemoryCheckpointStore(),
                                     options: ShipperOptions(endpoint: server.url, batchSize: 100, flushInterval: .milliseconds(10)))
        again.start()
        try await again.flush(timeout: .seconds(20))
        #expect(again.status.deliveredEvents == ids.count)
        #expect(try await server.store.readStream("ingest-ship-1").collect().map(\.id) == ids)
        await again.stop()
        await server.stop()
    }
}

extension EmitterEvent {
    /// Calls `body` with the event and returns it (for collecting ids inline).
    func with(_ body: (EmitterEvent) -> Void) -> EmitterEvent {
        body(self)
        return self
    }
}
