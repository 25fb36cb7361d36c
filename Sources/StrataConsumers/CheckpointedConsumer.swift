import Foundation
import CoreMetrics
import Logging
import Strata

/// A named reader of `$all` that resumes from its checkpoint, catches up, goes live, and saves
/// its checkpoint after handling each batch.
///
/// ```swift
/// let consumer = CheckpointedConsumer(name: "emails", store: store, checkpoints: checkpoints) { events, _ in
///     for event in events { try await send(event) }
/// }
/// consumer.start()
/// try await consumer.waitUntilCaughtUp(timeout: .seconds(10))
/// ```
///
/// - Delivery: events arrive in position order, in batches of at most
///   ``ConsumerOptions/batchSize``. With a transactional ``CheckpointStore`` (SQLite, PostgreSQL)
///   the handler's writes and the checkpoint commit together: each event takes effect once. With
///   a file or memory store the checkpoint is saved after the handler returns, so a crash in
///   between re-delivers at most that batch (at-least-once).
/// - Failures: when a batch fails, its events are retried one at a time with backoff; an event
///   that still fails is parked with its error (or stops the consumer, see
///   ``ConsumerOptions/parkFailures``). The checkpoint never passes an event that is neither
///   handled nor parked.
/// - Events appended while the consumer catches up are delivered after it, in order.
public final class CheckpointedConsumer<Checkpoints: CheckpointStore>: Sendable {
    /// The handler: a batch of events in position order, and the checkpoint store's transaction.
    public typealias Handler = @Sendable ([RecordedEvent], Checkpoints.Transaction) async throws -> Void

    /// The consumer's name: the key of its checkpoint and parked events.
    public let name: String
    /// The store read.
    public let store: any EventStore
    /// Where the checkpoint and parked events live.
    public let checkpoints: Checkpoints
    /// Reading and failure options.
    public let options: ConsumerOptions

    private let handler: Handler
    private let progress = ConsumerProgress()
    private let meters: ConsumerMetrics
    private let gate = AsyncSerialGate()
    private let task = BackgroundTask()

    /// Creates a consumer; it does nothing until ``start()`` or ``run()``.
    public init(name: String, store: any EventStore, checkpoints: Checkpoints,
                options: ConsumerOptions = ConsumerOptions(), handler: @escaping Handler) {
        self.name = name
        self.store = store
        self.checkpoints = checkpoints
        self.options = options
        self.handler = handler
        self.meters = ConsumerMetrics(factory: options.metrics, consumer: name)
    }

    // MARK: Running

    /// Runs the consumer in the calling task until the task is cancelled (then it returns) or an
    /// error stops it (then it throws: a store error, or a handler error when parking is off).
    public func run() async throws {
        progress.update { $0 = ConsumerProgress.Snapshot(); $0.isRunning = true }
        options.logger?.info("consumer started", metadata: ["consumer": .string(name)])
        do {
            try await loop()
        } catch {
            let cancelled = error is CancellationError || Task.isCancelled
            progress.stop(reason: cancelled ? "stopped" : "\(error)", error: cancelled ? nil : error)
            if cancelled {
                options.logger?.info("consumer stopped", metadata: ["consumer": .string(name)])
                return
            }
            options.logger?.error("consumer stopped by an error", metadata: ["consumer": .string(name), "error": .string("\(error)")])
            meters.stops.increment()
            throw error
        }
        progress.stop(reason: "stopped")
        options.logger?.info("consumer stopped", metadata: ["consumer": .string(name)])
    }

    /// Tells listeners, the log and the metrics.
    private func notify(_ notification: ConsumerNotification) {
        switch notification {
        case .retrying: meters.retries.increment()
        case .parked: meters.parked.increment()
        default: break
        }
        if let logger = options.logger {
            switch notification {
            case .caughtUp(let position):
                logger.info("consumer caught up", metadata: ["consumer": .string(name), "position": .stringConvertible(position)])
            case .idle:
                break
            case .retrying(let position, let attempt, let error):
                logger.warning("consumer retrying an event", metadata: [
                    "consumer": .string(name), "position": .stringConvertible(position), "attempt": .stringConvertible(attempt), "error": .string(error),
                ])
            case .parked(let entry):
                logger.error("consumer parked an event after its last attempt", metadata: [
                    "consumer": .string(name), "position": .stringConvertible(entry.position), "stream": .string(entry.stream),
                    "attempts": .stringConvertible(entry.attempts), "error": .string(entry.error),
                ])
            }
        }
        progress.notify(notification)
    }

    /// Starts the consumer in a background task. Errors that stop it are kept as
    /// ``ConsumerStatus/lastError``. Starting a started consumer does nothing.
    /// - Parameter onStop: called with the error when one stops the consumer (not when
    ///   ``stop()`` does), so that its owner can log it and report itself unhealthy.
    public func start(onStop: (@Sendable (any Error) -> Void)? = nil) {
        task.start { [self] in
            do {
                try await run()
            } catch {
                progress.update { $0.lastError = "\(error)" }
                onStop?(error)
            }
        }
    }

    /// Stops a consumer started with ``start()`` and waits until it has stopped. A batch being
    /// handled is interrupted; its checkpoint is not saved, so it is handled again next time.
    public func stop() async { await task.stop() }

    // MARK: Watching

    /// Notifications from now on (caught up, idle, retries, parked events).
    public func notifications() -> AsyncStream<ConsumerNotification> { progress.notifications() }

    /// Waits until the consumer has reached the head of the store once since it started.
    /// - Throws: ``StrataError/timedOut(_:)``, or ``StrataError/storeClosed(reason:)`` when the
    ///   consumer stops first (``StrataError/checkpointAheadOfStore(consumer:checkpoint:head:)``
    ///   itself when that stopped it).
    public func waitUntilCaughtUp(timeout: Duration = .seconds(30)) async throws {
        try await progress.wait(for: "consumer \(name) to catch up", timeout: timeout) { $0.hasCaughtUp }
    }

    /// Waits until the consumer has handled (or parked, or skipped as filtered out) every event
    /// up to `position`.
    public func waitUntilProcessed(through position: UInt64, timeout: Duration = .seconds(30)) async throws {
        try await progress.wait(for: "consumer \(name) to reach position \(position)", timeout: timeout) {
            $0.position >= position
        }
    }

    /// Waits until the consumer has handled everything appended so far and is waiting for more.
    public func waitUntilIdle(timeout: Duration = .seconds(30)) async throws {
        let head = try await store.headPosition()
        try await progress.wait(for: "consumer \(name) to become idle", timeout: timeout) {
            $0.isIdle && $0.position >= head
        }
    }

    /// The consumer's checkpoint, the store's head, its lag and its last error.
    public func status() async throws -> ConsumerStatus {
        let snapshot = progress.current
        return ConsumerStatus(name: name, checkpoint: try await checkpoints.checkpoint(for: name),
                              head: try await store.headPosition(), lastError: snapshot.lastError,
                              hasCaughtUp: snapshot.hasCaughtUp, isRunning: snapshot.isRunning)
    }

    // MARK: Parked events

    /// Parked events in position order, strictly after `position`, at most `limit`.
    public func parked(after position: UInt64? = nil, limit: Int = 100) async throws -> [ParkedEvent] {
        try await checkpoints.parked(consumer: name, after: position, limit: limit)
    }

    /// Hands a parked event to the handler again; when it succeeds the entry is removed. The
    /// checkpoint does not move. Runs between batches, never beside one.
    /// - Throws: the handler's error (the entry stays parked), or
    ///   ``StrataError/invalidArgument(_:)`` when nothing is parked there or the event is gone.
    public func replayParked(position: UInt64) async throws {
        try await gate.run { [self] in
            guard position > 0, try await checkpoints.parked(consumer: name, after: position - 1, limit: 1).first?.position == position else {
                throw StrataError.invalidArgument("consumer \(name) has no parked event at position \(position)")
            }
            let page = try await store.readAllPage(from: .at(position), direction: .forward, filter: EventFilter(), maxCount: 1)
            guard let event = page.events.first, event.position == position else {
                throw StrataError.invalidArgument("the event at position \(position) is no longer readable (deleted or expired); skip it instead")
            }
            let checkpoint = try await checkpoints.checkpoint(for: name) ?? 0
            try await checkpoints.commit(consumer: name, through: checkpoint) { transaction in
                try await handler([event], transaction)
            }
            try await checkpoints.unpark(consumer: name, position: position)
        }
    }

    /// Drops a parked event without handling it.
    public func skipParked(position: UInt64) async throws {
        try await gate.run { [self] in try await checkpoints.unpark(consumer: name, position: position) }
    }

    // MARK: The loop

    private func loop() async throws {
        // Checkpoints of another store, or beyond the head, would skip events: refuse them.
        try await checkpoints.bind(to: store, consumer: name)
        var position = try await checkpoints.checkpoint(for: name) ?? 0
        try await store.checkResumable(from: position, consumer: name)
        var saved = position
        progress.update { $0.position = position }
        while true {
            try Task.checkCancellation()
            let page = try await store.readAllPage(from: .at(position + 1), direction: .forward,
                                                   filter: options.filter, maxCount: options.batchSize)
            assert(Self.isOrderedAfter(position, page), "consumer \(name): a page read after \(position) is not in increasing position order after it")
            if let last = page.events.last {
                progress.update { $0.isIdle = false }
                try await gate.run { [self] in try await handle(page.events) }
                position = last.position
                saved = position
                progress.update { $0.position = position }
                meters.handled.increment(by: page.events.count)
                meters.position.record(position)
            }
            guard page.next == nil else { continue }
            // Reached the end: skip past filtered-out events, then wait for appends.
            if page.scannedThrough > position {
                position = page.scannedThrough
                if position > saved {
                    let through = position
                    try await gate.run { [self] in try await checkpoints.commit(consumer: name, through: through) { _ in } }
                    saved = position
                }
            }
            let reached = position
            #if DEBUG
            // The checkpoint is never ahead of the store (a store replaced under a running consumer would be).
            if let head = try? await store.headPosition() {
                assert(reached <= head, "consumer \(name): checkpoint \(reached) is ahead of the store's head \(head)")
            }
            #endif
            let first = !progress.current.hasCaughtUp
            meters.position.record(reached)
            progress.update { $0.position = reached; $0.hasCaughtUp = true; $0.isIdle = true }
            if first { notify(.caughtUp(position: reached)) }
            notify(.idle(position: reached))
            try await store.waitForAppends(after: reached)
        }
    }

    /// Whether a forward page read after `position` holds events in strictly increasing
    /// position order after it, none past what it scanned, and moves on (debug assertions).
    static func isOrderedAfter(_ position: UInt64, _ page: AllPage) -> Bool {
        var previous = position
        for event in page.events {
            guard event.position > previous else { return false }
            previous = event.position
        }
        if let next = page.next { return next > previous && next > position }
        return page.events.isEmpty || page.scannedThrough >= previous
    }

    /// Handles one batch: all at once, and when that fails, event by event with retries.
    private func handle(_ events: [RecordedEvent]) async throws {
        try await BatchHandling(consumer: name, checkpoints: checkpoints, options: options, handler: handler,
                                progress: progress, notify: { [self] in notify($0) }).handle(events)
    }
}

/// A value behind a lock.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
