import Foundation
import Logging
import Strata
import StrataConsumers

/// Delivers the events of some streams (by default the ``Emitter``'s outbox) to an HTTP
/// endpoint, in batches, at least once, in position order.
///
/// It is a ``CheckpointedConsumer`` over `$all` filtered to ``ShipperOptions/streams``: after a
/// batch is delivered (a 2xx answer) the checkpoint moves past it, so a restart resumes after the
/// last delivered batch and re-sends at most the batch that was in flight. A failing batch is
/// retried with exponential backoff and jitter, behind a circuit breaker, until it is delivered:
/// the outbox keeps every event until then.
///
/// ```swift
/// let shipper = try EventShipper(store: store, checkpoints: try FileCheckpointStore(directory: "./outbox/checkpoints"),
///                                options: ShipperOptions(endpoint: "http://127.0.0.1:8080/ingest", apiKey: "secret"))
/// shipper.start()
/// try await shipper.flush()   // delivered through the store's head
/// ```
public final class EventShipper<Checkpoints: CheckpointStore>: Sendable {
    /// The consumer that reads the streams and keeps the checkpoint.
    public let consumer: CheckpointedConsumer<Checkpoints>
    /// The options given at creation.
    public let options: ShipperOptions
    private let engine: ShipperEngine

    /// Creates a shipper; it does nothing until ``start()`` or ``run()``.
    /// - Parameter transport: how batches are sent; by default an ``HTTPEventTransport`` to
    ///   ``ShipperOptions/endpoint``.
    /// - Throws: ``EmitterError/invalidEndpoint(_:)`` for an endpoint that is not an http(s) URL.
    public init(store: any EventStore, checkpoints: Checkpoints, options: ShipperOptions,
                transport: (any EventTransport)? = nil) throws {
        let sender: any EventTransport
        if let transport {
            sender = transport
        } else {
            sender = try HTTPEventTransport(endpoint: options.endpoint, apiKey: options.apiKey, timeout: options.timeout)
        }
        let engine = ShipperEngine(store: store, options: options, transport: sender)
        self.engine = engine
        self.options = options
        // The handler never gives up on a batch (it retries until delivered), so nothing is
        // ever parked: a store error stops the consumer instead of skipping events.
        self.consumer = CheckpointedConsumer(
            name: options.name, store: store, checkpoints: checkpoints,
            options: ConsumerOptions(filter: engine.filter, batchSize: options.batchSize, retry: .none, parkFailures: false,
                                     logger: options.logger)
        ) { events, _ in
            try await engine.handle(events)
        }
    }

    // MARK: - Running

    /// Starts shipping in a background task.
    public func start() { consumer.start() }

    /// Stops shipping; a batch in flight is abandoned and sent again after a restart.
    public func stop() async { await consumer.stop() }

    /// Ships in the calling task until it is cancelled.
    public func run() async throws { try await consumer.run() }

    /// Sends what is waiting now, without waiting for ``ShipperOptions/flushInterval``, and
    /// returns once every shipped event up to the store's current head is delivered.
    /// - Throws: ``StrataError/timedOut(_:)`` when that takes longer than `timeout` (for
    ///   example while the endpoint fails and the circuit is open); shipping goes on.
    public func flush(timeout: Duration = .seconds(30)) async throws {
        let head = try await engine.store.headPosition()
        engine.status.update { $0.flushThrough = max($0.flushThrough, head) }
        try await consumer.waitUntilProcessed(through: head, timeout: timeout)
    }

    // MARK: - Watching

    /// The breaker's state, counters and last error.
    public var status: ShipperStatus { engine.status.current }

    /// Waits until `condition` holds for the status (checked at every change, so short-lived
    /// states such as a half-open probe are seen).
    /// - Throws: ``StrataError/timedOut(_:)`` after `timeout`.
    public func waitForStatus(_ what: String = "a shipper status", timeout: Duration = .seconds(30),
                              _ condition: @escaping @Sendable (ShipperStatus) -> Bool) async throws {
        try await engine.status.wait(for: what, timeout: timeout, until: condition)
    }

    /// The last revision of `stream` that is delivered according to the checkpoint (0 when none).
    /// - Throws: ``StrataError/checkpointOfAnotherStore(consumer:recorded:actual:)`` when the
    ///   checkpoints were recorded for another store, ``StrataError/checkpointAheadOfStore(consumer:checkpoint:head:)``
    ///   when the checkpoint is beyond the store's head.
    public func deliveredRevision(ofStream stream: String) async throws -> UInt64 {
        guard let checkpoint = try await consumer.checkpoints.checkpoint(for: options.name), checkpoint > 0 else { return 0 }
        try await consumer.checkpoints.bind(to: engine.store, consumer: options.name)
        try await engine.store.checkResumable(from: checkpoint, consumer: options.name)
        var origin = ReadOrigin.at(checkpoint)
        while true {
            let page = try await engine.store.readAllPage(from: origin, direction: .backward,
                                                          filter: EventFilter(streamPrefixes: [stream]), maxCount: 256)
            if let event = page.events.first(where: { $0.stream == stream }) { return event.revision }
            guard let next = page.next else { return 0 }
            origin = .at(next)
        }
    }

    /// Calls `callback` with the highest revision of `stream` in each delivered batch.
    func onDelivery(stream: String, _ callback: @escaping @Sendable (UInt64) -> Void) {
        engine.observers.update { $0.append((stream, callback)) }
    }
}

/// The shipper's batching and delivery, called by the consumer's handler.
final class ShipperEngine: Sendable {
    let store: any EventStore
    let options: ShipperOptions
    let transport: any EventTransport
    let filter: EventFilter
    let encoder: ShippedBatchEncoder
    let status = ObservedState(ShipperStatus())
    let observers = ObservedState<[(String, @Sendable (UInt64) -> Void)]>([])
    private let breaker: ObservedState<CircuitBreaker>
    private let meters: ShipperMetrics
    /// The highest position delivered by this process (events the consumer hands over again
    /// after an extended batch are skipped).
    private let shippedThrough = ObservedState<UInt64>(0)

    init(store: any EventStore, options: ShipperOptions, transport: any EventTransport) {
        self.store = store
        self.options = options
        self.transport = transport
        self.filter = EventFilter(streamPrefixes: options.streams)
        self.encoder = ShippedBatchEncoder(defaultSource: options.defaultSource.json)
        self.breaker = ObservedState(CircuitBreaker(options: options.circuitBreaker))
        self.meters = ShipperMetrics(factory: options.metrics, shipper: options.name)
        meters.record(.closed)
    }

    /// Completes the consumer's page into a batch (by size, by interval, or at once on a
    /// flush), delivers it, and returns once it is delivered.
    func handle(_ events: [RecordedEvent]) async throws {
        let already = shippedThrough.current
        var batch = events.filter { $0.position > already }
        guard let first = batch.first else { return }
        let deadline = ContinuousClock.now + options.flushInterval
        var scanned = batch[batch.count - 1].position
        while batch.count < options.batchSize, status.current.flushThrough < first.position, ContinuousClock.now < deadline {
            let page = try await store.readAllPage(from: .at(scanned + 1), direction: .forward, filter: filter,
                                                   maxCount: options.batchSize - batch.count)
            batch += page.events
            scanned = max(scanned, page.events.last?.position ?? 0, page.scannedThrough)
            if batch.count >= options.batchSize || page.next != nil { continue }
            try await waitForMore(after: scanned, firstPosition: first.position, deadline: deadline)
        }
        try await deliver(batch)
        let last = batch[batch.count - 1].position
        shippedThrough.update { $0 = max($0, last) }
        var revisions: [String: UInt64] = [:]
        for event in batch { revisions[event.stream] = max(revisions[event.stream] ?? 0, event.revision) }
        for (stream, callback) in observers.current { if let revision = revisions[stream] { callback(revision) } }
    }

    /// Waits for an append after `position`, the deadline, or a flush covering the batch.
    private func waitForMore(after position: UInt64, firstPosition: UInt64, deadline: ContinuousClock.Instant) async throws {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.store.waitForAppends(after: position) }
            group.addTask {
                do {
                    try await self.status.wait(for: "a flush", timeout: remaining) { $0.flushThrough >= firstPosition }
                } catch StrataError.timedOut {
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
    }

    /// Sends one batch until it is delivered: backoff between failures, nothing sent while the
    /// circuit is open, one probe when it is half-open.
    private func deliver(_ batch: [RecordedEvent]) async throws {
        let body = encoder.encode(batch)
        var attempt = 0
        while true {
            try Task.checkCancellation()
            if let reopen = breaker.current.nextAttempt(now: .now) {
                try await Task.sleep(until: reopen, clock: .continuous)
            }
            let probing = breaker.update { b -> Bool in
                b.beforeRequest(now: .now)
                return b.state == .halfOpen
            }
            if probing {
                // Metrics first: whoever sees the status change sees the metric too.
                meters.record(.halfOpen)
                status.update { $0.circuit = .halfOpen; $0.probes += 1 }
                options.logger?.info("shipper circuit half-open: sending one probe batch", metadata: ["shipper": .string(options.name)])
            }
            do {
                try await transport.send(body, count: batch.count)
                let wasOpen = status.current.circuit != .closed
                breaker.update { $0.recordSuccess() }
                if wasOpen {
                    options.logger?.info("shipper circuit closed: deliveries resumed", metadata: ["shipper": .string(options.name)])
                }
                meters.record(.closed)
                meters.batches.increment()
                meters.events.increment(by: batch.count)
                meters.position.record(batch[batch.count - 1].position)
                status.update { s in
                    s.circuit = .closed
                    s.consecutiveFailures = 0
                    s.deliveredBatches += 1
                    s.deliveredEvents += batch.count
                    s.deliveredThrough = max(s.deliveredThrough, batch[batch.count - 1].position)
                    s.lastError = nil
                }
                return
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                attempt += 1
                let (state, failures) = breaker.update { b -> (CircuitState, Int) in
                    b.recordFailure(now: .now)
                    return (b.state, b.consecutiveFailures)
                }
                meters.failures.increment()
                meters.record(state)
                let opened = status.update { s -> Bool in
                    let opened = state == .open && s.circuit != .open
                    if opened { s.timesOpened += 1 }
                    s.circuit = state
                    s.consecutiveFailures = failures
                    s.failedRequests += 1
                    s.lastError = "\(error)"
                    return opened
                }
                options.logger?.warning("shipper delivery failed", metadata: [
                    "shipper": .string(options.name), "attempt": .stringConvertible(attempt), "events": .stringConvertible(batch.count),
                    "error": .string("\(error)"),
                ])
                if opened {
                    options.logger?.error("shipper circuit opened: deliveries pause", metadata: [
                        "shipper": .string(options.name), "consecutiveFailures": .stringConvertible(failures),
                    ])
                }
                // While the circuit is open the loop waits for its reset time instead.
                if state != .open { try await Task.sleep(for: options.backoff.delay(afterAttempt: attempt)) }
            }
        }
    }
}
