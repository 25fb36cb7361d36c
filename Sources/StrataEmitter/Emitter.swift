import Foundation
import Strata
import StrataJSONShapes
import StrataConsumers
import StrataJSON

/// The durable emitter: `emit` puts an event in a bounded in-memory buffer and returns at once;
/// a writer task appends the buffer to the outbox stream of a Strata store by group commit
/// (everything buffered in one append, up to ``EmitterOptions/maxEventsPerAppend``). An
/// ``EventShipper`` then delivers the outbox to an HTTP endpoint.
///
/// ```swift
/// let store = try LogEventStore(directory: "./outbox")
/// let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: SourceIdentity(id: "orders-1")))
/// try emitter.emit(.track("signup", userId: "u1"))   // in memory, appended within a moment
/// try await emitter.flush()                          // now in the store (on disk with `.fsync`)
/// ```
///
/// What is durable when (see docs/EMITTER.md):
/// - after `emit` returns: the event is in memory only; a crash of the process before the next
///   group commit (usually under a millisecond later) loses it;
/// - after ``flush(timeout:)`` or ``emitDurably(_:timeout:)`` returns: every event emitted
///   before is appended to the store, with the store's durability (`LogEventStore` with
///   `.fsync`: on disk);
/// - from then on the outbox keeps each event until the shipper has delivered it.
public final class Emitter: Sendable {
    /// The outbox store.
    public let store: any EventStore
    /// The options given at open.
    public let options: EmitterOptions

    struct State: Sendable {
        var buffer: [EventData] = []
        /// Events emitted since open, and appended to the outbox since open.
        var emitted: UInt64 = 0
        var appended: UInt64 = 0
        /// The outbox stream's last revision at open, and the last outbox revision delivered.
        var revisionAtOpen: UInt64 = 0
        var deliveredRevision: UInt64 = 0
        var writerIdle = false
        var closed: String?
        var lastError: String?
        var source: SourceIdentity
        var sourceJSON: [UInt8]

        var pending: Int {
            let total = revisionAtOpen + emitted
            return total > deliveredRevision ? Int(total - deliveredRevision) : 0
        }
    }

    let state: ObservedState<State>
    private let wake: AsyncStream<Void>.Continuation
    private let writer: LockedTask

    private init(store: any EventStore, options: EmitterOptions, revision: UInt64, delivered: UInt64) {
        self.store = store
        self.options = options
        var initial = State(source: options.source, sourceJSON: options.source.json)
        initial.revisionAtOpen = revision
        initial.deliveredRevision = delivered
        self.state = ObservedState(initial)
        let (signals, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        self.writer = LockedTask()
        writer.set(Task { [self] in await writeLoop(signals) })
    }

    /// Opens an emitter over `store`. Call ``close(timeout:)`` when done: its writer task runs
    /// (and keeps the emitter alive) until then.
    /// - Parameters:
    ///   - shipper: the shipper that delivers this outbox, if any: the size cap counts events not
    ///     yet delivered by it (from its checkpoint), and it reports deliveries. Without one,
    ///     nothing counts as delivered and the cap bounds the outbox stream's length.
    /// - Throws: ``StrataError/invalidStreamName(_:reason:)`` for a bad outbox stream, or the store's error.
    public static func open<C: CheckpointStore>(store: any EventStore, options: EmitterOptions,
                                                shipper: EventShipper<C>?) async throws -> Emitter {
        try Naming.validateStreamName(options.outboxStream)
        let revision = try await store.streamInfo(options.outboxStream).lastRevision
        let delivered = try await shipper?.deliveredRevision(ofStream: options.outboxStream) ?? 0
        let emitter = Emitter(store: store, options: options, revision: revision, delivered: delivered)
        shipper?.onDelivery(stream: options.outboxStream) { [weak emitter] revision in emitter?.noteDelivered(revision) }
        return emitter
    }

    /// Opens an emitter over `store` with no shipper attached (see ``open(store:options:shipper:)``).
    public static func open(store: any EventStore, options: EmitterOptions) async throws -> Emitter {
        try await open(store: store, options: options, shipper: EventShipper<MemoryCheckpointStore>?.none)
    }

    // MARK: - Emitting

    /// Enqueues an event and returns at once; it is appended to the outbox by the next group
    /// commit. Adds `ts` (now, UTC, milliseconds) and the source identity.
    /// - Throws: ``EmitterError/outboxFull(pending:limit:)`` at the size cap,
    ///   ``EmitterError/closed(reason:)`` after ``close()``, and for bad input
    ///   ``StrataError/invalidEventType(_:reason:)``, ``StrataError/invalidEvent(id:reason:)``
    ///   (data that is not a JSON object) or ``StrataError/eventTooLarge(id:size:limit:)``.
    ///   Nothing is enqueued when it throws.
    /// - Returns: the event's sequence number among the events emitted since open (from 1).
    @discardableResult
    public func emit(_ event: EmitterEvent, source: SourceIdentity? = nil) throws -> UInt64 {
        try Naming.validateEventType(event.type)
        guard JSONSyntax.isObject(event.data) else {
            throw StrataError.invalidEvent(id: event.id.uuidString, reason: "the data of an emitted event must be a JSON object")
        }
        let explicitSource = source?.json
        let millis = (currentMicroseconds() / 1000)
        return try state.update { s -> UInt64 in
            if let reason = s.closed { throw EmitterError.closed(reason: reason) }
            let pending = s.pending
            guard pending < options.maxPendingEvents else { throw EmitterError.outboxFull(pending: pending, limit: options.maxPendingEvents) }
            var metadata: [UInt8] = []
            metadata.reserveCapacity(40 + (explicitSource ?? s.sourceJSON).count)
            metadata.append(contentsOf: #"{"ts":""#.utf8)
            UTCTime.appendISO8601(millis &* 1000, fractionDigits: 3, to: &metadata)
            metadata.append(contentsOf: #"","source":"#.utf8)
            metadata.append(contentsOf: explicitSource ?? s.sourceJSON)
            metadata.append(UInt8(ascii: "}"))
            let data = EventData(id: event.id, type: event.type, data: event.data, contentType: .json, metadata: Data(metadata))
            // The metadata is ours and valid; only the size is left to check.
            let size = data.encodedSize
            guard size <= options.limits.maxEventSize else {
                throw StrataError.eventTooLarge(id: event.id.uuidString, size: size, limit: options.limits.maxEventSize)
            }
            s.buffer.append(data)
            s.emitted += 1
            if s.writerIdle {
                s.writerIdle = false
                wake.yield()
            }
            return s.emitted
        }
    }

    /// Emits an event and returns once it is appended to the outbox (with every event emitted
    /// before it): the asynchronous, durable form of ``emit(_:source:)``.
    public func emitDurably(_ event: EmitterEvent, source: SourceIdentity? = nil, timeout: Duration = .seconds(30)) async throws {
        let sequence = try emit(event, source: source)
        try await waitAppended(through: sequence, timeout: timeout)
    }

    /// Returns once every event emitted before the call is appended to the outbox store.
    /// - Throws: ``StrataError/timedOut(_:)`` when the store does not take them within `timeout`
    ///   (the events stay buffered and are appended later), or ``EmitterError/closed(reason:)``.
    public func flush(timeout: Duration = .seconds(30)) async throws {
        let target = state.current.emitted
        try await waitAppended(through: target, timeout: timeout)
    }

    private func waitAppended(through sequence: UInt64, timeout: Duration) async throws {
        try await state.wait(for: "the outbox append of \(sequence) emitted events", timeout: timeout) { $0.appended >= sequence }
    }

    /// Refines the source identity of later events from an incoming request's headers (region,
    /// worker, name: see ``SourceIdentity/RequestHeaders``), as dotdo's `enrichFromRequest`.
    public func refineSource(fromRequestHeaders headers: some Sequence<(String, String)>,
                             mapping: SourceIdentity.RequestHeaders = .default) {
        let pairs = Array(headers)
        state.update { s in
            s.source.refine(fromRequestHeaders: pairs, mapping: mapping)
            s.sourceJSON = s.source.json
        }
    }

    // MARK: - Watching

    /// The identity added to events emitted now.
    public var source: SourceIdentity { state.current.source }

    /// Events emitted but not yet delivered (what the size cap counts).
    public var pendingCount: Int { state.current.pending }

    /// Events emitted but not yet appended to the outbox.
    public var bufferedCount: Int {
        let s = state.current
        return Int(s.emitted - s.appended)
    }

    /// The last error of an outbox append (they are retried), or `nil`.
    public var lastError: String? { state.current.lastError }

    func noteDelivered(_ revision: UInt64) {
        state.update { s in s.deliveredRevision = max(s.deliveredRevision, revision) }
    }

    // MARK: - Closing

    /// Appends what is buffered, then stops the writer. Later emits throw
    /// ``EmitterError/closed(reason:)``. Does not close the store.
    public func close(timeout: Duration = .seconds(30)) async throws {
        let wasOpen = state.update { s -> Bool in
            defer { if s.closed == nil { s.closed = "closed by the application" } }
            return s.closed == nil
        }
        guard wasOpen else { return }
        defer {
            wake.finish()
            writer.cancel()
        }
        try await flush(timeout: timeout)
    }

    // MARK: - The writer

    private func writeLoop(_ signals: AsyncStream<Void>) async {
        var iterator = signals.makeAsyncIterator()
        var failures = 0
        // Everything buffered is taken at once (a swap, O(1)) and appended in chunks of at most
        // `maxEventsPerAppend`: taking chunks off the shared buffer's front would cost O(n) each.
        var taken: [EventData] = []
        var next = 0
        while !Task.isCancelled {
            if next == taken.count {
                taken = state.update { s -> [EventData] in
                    if s.buffer.isEmpty { s.writerIdle = true; return [] }
                    var all: [EventData] = []
                    swap(&all, &s.buffer)
                    return all
                }
                next = 0
                if taken.isEmpty {
                    guard await iterator.next() != nil else { return }
                    continue
                }
            }
            let end = min(taken.count, next + options.maxEventsPerAppend)
            let chunk = Array(taken[next..<end])
            do {
                // A retry of a chunk that was stored after all is an idempotent repeat.
                _ = try await store.append([AppendRequest(stream: options.outboxStream, expectedRevision: .any, events: chunk)], condition: nil)
                next = end
                if next == taken.count { taken = []; next = 0 }
                failures = 0
                state.update { s in s.appended += UInt64(chunk.count); s.lastError = nil }
            } catch {
                if Task.isCancelled { return }
                if case StrataError.storeClosed(let reason) = error {
                    state.update { s in s.closed = "the outbox store is closed: \(reason)"; s.lastError = "\(error)" }
                    state.close(EmitterError.closed(reason: "the outbox store is closed: \(reason)"))
                    return
                }
                failures += 1
                state.update { s in s.lastError = "\(error)" }
                try? await Task.sleep(for: options.appendRetry.delay(afterAttempt: failures))
            }
        }
    }
}

/// A task handle behind a lock.
// @unchecked Sendable: `task` is only read and written under `lock`.
final class LockedTask: @unchecked Sendable {
    private let lock = NSLock()
    private var task: Task<Void, Never>?
    func set(_ task: Task<Void, Never>) { lock.withLock { self.task = task } }
    func cancel() { lock.withLock { task }?.cancel() }
    var value: Task<Void, Never>? { lock.withLock { task } }
}
