import Foundation
import Synchronization

/// The bounded group-commit queue between the tasks that change a store and the writer that
/// commits their changes in batches (one write and sync, one transaction or one message per
/// batch). Every Strata backend that writes uses it: the log engine, SQLite, PostgreSQL and
/// JetStream.
///
/// Producers ``submit(_:bytes:events:alone:)`` a request and suspend until the writer answers
/// it. A writer takes the requests queued so far as one batch — in submission order, bounded by
/// ``Limits/maxBatchBytes`` and ``Limits/maxBatchEvents`` but never empty, so one request larger
/// than a bound forms a batch of its own — commits them, and answers each ``Pending`` with its
/// response or its error. There are two kinds of writer:
///
/// - a dedicated thread (blocking file or database I/O kept off Swift's cooperative pool) calls
///   ``takeBatch(deadline:)`` in a loop;
/// - one or more tasks run ``consume(regroupingYields:_:)``. With a single consuming task,
///   ``submitInline(_:bytes:events:commit:)`` lets a producer that finds the queue idle commit
///   its own request in its own task, without a hop to the writer.
///
/// **Back-pressure.** At most ``Limits/maxPendingRequests`` requests and
/// ``Limits/maxPendingBytes`` bytes wait to be taken (a request larger than the byte bound is
/// admitted into an empty queue). A submit that finds the queue full, or other submits already
/// waiting, waits for room: first come, first served, so requests are still taken in submission
/// order. A task cancelled while it waits for room throws `CancellationError` and its request
/// is dropped; once admitted, a request is not cancellable (it may already be committed).
///
/// **Ending.** ``finish(refusing:)`` — or ``submitFinal(_:bytes:events:)``, which queues a last
/// request — refuses later submits and lets the writers take everything submitted before; then
/// ``takeBatch(deadline:)`` returns ``Take/finished`` and ``consume(regroupingYields:_:)``
/// returns. ``close(failing:)`` instead fails everything not yet taken, and every later submit,
/// with the given error.
///
/// ```swift
/// let queue = GroupCommitQueue<[AppendRequest], [AppendResult]>(limits: .init(maxBatchEvents: 10_000))
/// let writer = Task {
///     await queue.consume { batch in
///         for pending in batch { pending.complete(with: Result { try store(pending.request) }) }
///     }
/// }
/// let size = requests.groupCommitSize
/// let results = try await queue.submit(requests, bytes: size.bytes, events: size.events)
/// ```
public final class GroupCommitQueue<Request: Sendable, Response: Sendable>: @unchecked Sendable {
    // Safe to share: every `var` below is read and written only while holding `condition`, and
    // continuations are resumed after releasing it.

    /// The bounds of one batch and of what may wait in the queue.
    public struct Limits: Sendable, Hashable {
        /// The most bytes one batch takes (a single larger request is taken alone).
        public var maxBatchBytes: Int
        /// The most events one batch takes (a single larger request is taken alone).
        public var maxBatchEvents: Int
        /// The most bytes that may wait to be taken before submits wait for room.
        public var maxPendingBytes: Int
        /// The most requests that may wait to be taken before submits wait for room.
        public var maxPendingRequests: Int

        /// Creates limits; every bound must be positive (`Int.max`: unbounded). By default a
        /// batch is unbounded and at most 256 MiB or 65,536 requests wait to be taken.
        public init(maxBatchBytes: Int = .max, maxBatchEvents: Int = .max, maxPendingBytes: Int = 256 << 20,
                    maxPendingRequests: Int = 1 << 16) {
            precondition(maxBatchBytes > 0 && maxBatchEvents > 0 && maxPendingBytes > 0 && maxPendingRequests > 0,
                         "group-commit limits must be positive")
            self.maxBatchBytes = maxBatchBytes
            self.maxBatchEvents = maxBatchEvents
            self.maxPendingBytes = maxPendingBytes
            self.maxPendingRequests = maxPendingRequests
        }
    }

    /// One request a writer took, with what it weighs. The writer answers it exactly once, with
    /// ``succeed(_:)``, ``fail(_:)`` or ``complete(with:)``.
    public struct Pending: Sendable {
        /// What the producer asked for.
        public let request: Request
        /// Its size in bytes, as the producer gave it.
        public let bytes: Int
        /// Its event count, as the producer gave it.
        public let events: Int
        /// Whether it forms a batch by itself.
        public let alone: Bool
        @usableFromInline let answer: Answer

        @usableFromInline
        init(request: Request, bytes: Int, events: Int, alone: Bool, answer: Answer) {
            self.request = request
            self.bytes = bytes
            self.events = events
            self.alone = alone
            self.answer = answer
        }

        /// Resumes the producer with a response.
        @inlinable public func succeed(_ response: Response) { answer.deliver(.success(response)) }
        /// Resumes the producer with an error.
        @inlinable public func fail(_ error: any Error) { answer.deliver(.failure(error)) }
        /// Resumes the producer with a result.
        @inlinable public func complete(with result: Result<Response, any Error>) { answer.deliver(result) }
    }

    /// What a thread writer's ``takeBatch(deadline:)`` got.
    public enum Take: Sendable {
        /// Requests to commit, in submission order (never empty).
        case batch([Pending])
        /// The deadline passed with nothing to take.
        case timedOut
        /// The queue was finished or closed and everything accepted was taken: stop.
        case finished
    }

    /// Where a producer waits for its answer.
    @usableFromInline enum Answer: Sendable {
        case continuation(CheckedContinuation<Response, any Error>)
        /// A request committed in its producer's own task (``submitInline(_:bytes:events:commit:)``).
        case inline(InlineAnswer)

        @inlinable func deliver(_ result: Result<Response, any Error>) {
            switch self {
            case .continuation(let c): c.resume(with: result)
            case .inline(let box): box.store(result)
            }
        }
    }

    /// The answer of a request committed inline. An `NSLock`, not a `Mutex`, so that
    /// ThreadSanitizer sees the hand-over (docs/SANITIZERS.md).
    @usableFromInline final class InlineAnswer: @unchecked Sendable {
        // Safe to share: `result` is read and written only while holding `lock`.
        @usableFromInline let lock = NSLock()
        @usableFromInline var result: Result<Response, any Error>?

        @usableFromInline init() {}

        @inlinable func store(_ result: Result<Response, any Error>) {
            lock.lock()
            self.result = result
            lock.unlock()
        }

        @inlinable func take() -> Result<Response, any Error>? {
            lock.lock()
            defer { lock.unlock() }
            return result
        }
    }

    @usableFromInline enum Phase {
        case open
        /// Refuses submits with this error; the writers take what was accepted before.
        case finishing(any Error)
        /// Refuses submits with this error; nothing is left to take.
        case closed(any Error)
    }

    /// The bounds this queue applies.
    public let limits: Limits

    @usableFromInline let condition = NSCondition()
    @usableFromInline var queued: [Pending] = []
    @usableFromInline var queuedBytes = 0
    /// Submits that found the queue full, in submission order, with the id their cancellation uses.
    @usableFromInline var waiting: [(id: UInt64, pending: Pending)] = []
    @usableFromInline var phase = Phase.open
    /// Writer threads blocked in ``takeBatch(deadline:)``.
    @usableFromInline var sleepingThreads = 0
    /// Consuming tasks waiting for requests.
    @usableFromInline var idleConsumers: [CheckedContinuation<Void, Never>] = []
    /// Batches taken by consuming tasks and not yet committed.
    @usableFromInline var batchesOut = 0
    /// Whether a producer is committing its own request (``submitInline(_:bytes:events:commit:)``).
    @usableFromInline var inlineCommitting = false
    @usableFromInline var idleWatchers: [CheckedContinuation<Void, Never>] = []
    @usableFromInline let nextWaitID = Atomic<UInt64>(0)

    /// Creates an empty, open queue.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Requests submitted and not yet taken by a writer (those waiting for room included).
    public var pendingRequests: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued.count + waiting.count
    }

    // MARK: - Producers

    /// Queues a request and returns the writer's response.
    ///
    /// - Parameters:
    ///   - request: what the writer is asked to do.
    ///   - bytes: the request's size, for ``Limits/maxBatchBytes`` and ``Limits/maxPendingBytes``.
    ///   - events: its event count, for ``Limits/maxBatchEvents``.
    ///   - alone: whether it must form a batch by itself (a change the writer cannot combine).
    /// - Throws: the writer's error for this request; the refusal error once the queue is
    ///   finished or closed; `CancellationError` when the task is cancelled while waiting for room.
    @inlinable public func submit(_ request: Request, bytes: Int, events: Int, alone: Bool = false) async throws -> Response {
        try await submit(request, bytes: bytes, events: events, alone: alone, final: false)
    }

    /// Queues a last request: every later submit is refused (with
    /// ``StrataError/storeClosed(reason:)`` "close() was called"), and a writer takes this one after
    /// everything submitted before it. A thread writer finds it at the end of its batch.
    @inlinable public func submitFinal(_ request: Request, bytes: Int = 0, events: Int = 0) async throws -> Response {
        try await submit(request, bytes: bytes, events: events, alone: false, final: true)
    }

    @inlinable func submit(_ request: Request, bytes: Int, events: Int, alone: Bool, final: Bool) async throws -> Response {
        precondition(bytes >= 0 && events >= 0, "a request's size cannot be negative")
        // The common case: room now, so the request is queued at once and cannot be cancelled;
        // no cancellation handler to install and remove (the single-append path pays for it).
        // Should the queue fill up in between, the request waits for room without one.
        if hasRoomNow(for: bytes) {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
                accept(Pending(request: request, bytes: bytes, events: events, alone: alone, answer: .continuation(continuation)),
                       id: 0, final: final)
            }
        }
        let id = nextWaitID.wrappingAdd(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Response, any Error>) in
                accept(Pending(request: request, bytes: bytes, events: events, alone: alone, answer: .continuation(continuation)),
                       id: id, final: final)
            }
        } onCancel: {
            cancelWaiting(id)
        }
    }

    @inlinable func accept(_ pending: Pending, id: UInt64, final: Bool) {
        condition.lock()
        switch phase {
        case .open:
            if final { phase = .finishing(StrataError.storeClosed(reason: "close() was called")) }
        case .finishing(let refusal), .closed(let refusal):
            condition.unlock()
            pending.fail(refusal)
            return
        }
        if waiting.isEmpty && hasRoom(for: pending.bytes) {
            queued.append(pending)
            queuedBytes += pending.bytes
            let wake = wakeConsumer()
            condition.unlock()
            wake?.resume()
        } else if Task.isCancelled {
            condition.unlock()
            pending.fail(CancellationError())
        } else {
            waiting.append((id, pending))
            condition.unlock()
        }
    }

    @inlinable func cancelWaiting(_ id: UInt64) {
        condition.lock()
        guard let index = waiting.firstIndex(where: { $0.id == id }) else {
            condition.unlock()
            return
        }
        let pending = waiting.remove(at: index).pending
        admitWaiting()
        let wake = wakeConsumer()
        condition.unlock()
        pending.fail(CancellationError())
        wake?.resume()
    }

    /// Commits the request in the calling task when the queue is idle — nothing queued, no batch
    /// being committed by a consuming task, no other inline commit — as a batch of one passed to
    /// `commit`; otherwise queues it like ``submit(_:bytes:events:alone:)``. While it commits,
    /// consuming tasks take nothing, so batches are still committed one after another by a
    /// single consumer. For queues consumed by tasks (``consume(regroupingYields:_:)``), not by
    /// a thread.
    /// - Parameters:
    ///   - request: what the writer is asked to do.
    ///   - bytes: the request's size, as for ``submit(_:bytes:events:alone:)``.
    ///   - events: its event count, as for ``submit(_:bytes:events:alone:)``.
    ///   - commit: the writer's commit function; it must answer the request it is given.
    @inlinable public func submitInline(_ request: Request, bytes: Int, events: Int,
                             commit: ([Pending]) async -> Void) async throws -> Response {
        guard claimInline() else { return try await submit(request, bytes: bytes, events: events) }
        let answer = InlineAnswer()
        await commit([Pending(request: request, bytes: bytes, events: events, alone: false, answer: .inline(answer))])
        endInline()
        guard let result = answer.take() else {
            throw StrataError.storeClosed(reason: "the writer left a request without an answer")
        }
        return try result.get()
    }

    // MARK: - Writers

    /// Waits for requests and takes the next batch (for a writer thread; blocks the thread).
    /// - Parameter deadline: when to give up waiting and return ``Take/timedOut`` (nil: never).
    @inlinable public func takeBatch(deadline: Date? = nil) -> Take {
        condition.lock()
        while true {
            if let batch = takeLocked() {
                let wake = wakeConsumer()
                condition.unlock()
                wake?.resume()
                return .batch(batch)
            }
            if isDrained {
                condition.unlock()
                return .finished
            }
            sleepingThreads += 1
            var signalled = true
            if let deadline { signalled = condition.wait(until: deadline) } else { condition.wait() }
            sleepingThreads -= 1
            if !signalled && queued.isEmpty && !isDrained {
                condition.unlock()
                return .timedOut
            }
        }
    }

    /// Takes batches and commits each with `commit` until the queue is finished or closed and
    /// everything accepted was taken (for writer tasks; several may consume one queue, each
    /// committing its own batches).
    /// - Parameters:
    ///   - regroupingYields: after committing a batch of several requests, yield up to this many
    ///     times while fewer requests than that are queued, so that the producers just answered,
    ///     who are likely submitting again, join the next batch instead of splitting across two.
    ///   - commit: commits a batch and answers every request of it.
    @inlinable public func consume(regroupingYields: Int = 0, _ commit: ([Pending]) async -> Void) async {
        var previous = 0
        while true {
            var yields = 0
            while yields < regroupingYields && previous > 1 && isOpen(withFewerQueuedThan: previous) {
                await Task.yield()
                yields += 1
            }
            guard let batch = await nextBatch() else { return }
            await commit(batch)
            endBatch()
            previous = batch.count
        }
    }

    /// Returns when no consuming task is committing a batch and no inline commit runs.
    @inlinable public func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if batchesOut == 0 && !inlineCommitting {
                condition.unlock()
                continuation.resume()
            } else {
                idleWatchers.append(continuation)
                condition.unlock()
            }
        }
    }

    @inlinable func nextBatch() async -> [Pending]? {
        while true {
            switch tryTake() {
            case .batch(let batch): return batch
            case .finished: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    condition.lock()
                    if (!queued.isEmpty && !inlineCommitting) || isDrained {
                        condition.unlock()
                        continuation.resume()
                    } else {
                        idleConsumers.append(continuation)
                        condition.unlock()
                    }
                }
            }
        }
    }

    @usableFromInline enum Next {
        case batch([Pending])
        case finished
        case wait
    }

    /// A consuming task's attempt to take a batch.
    @inlinable func tryTake() -> Next {
        condition.lock()
        if let batch = takeLocked() {
            batchesOut += 1
            let wake = wakeConsumer()
            condition.unlock()
            wake?.resume()
            return .batch(batch)
        }
        let next: Next = isDrained ? .finished : .wait
        condition.unlock()
        return next
    }

    /// A consuming task committed its batch.
    @inlinable func endBatch() {
        condition.lock()
        batchesOut -= 1
        let watchers = batchesOut == 0 && !inlineCommitting ? takeIdleWatchers() : []
        condition.unlock()
        for watcher in watchers { watcher.resume() }
    }

    /// Takes the writer's turn for an inline commit when the queue is idle.
    @inlinable func claimInline() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .open = phase, queued.isEmpty, waiting.isEmpty, batchesOut == 0, !inlineCommitting else { return false }
        inlineCommitting = true
        return true
    }

    /// Ends an inline commit: wakes a consuming task for what was queued meanwhile.
    @inlinable func endInline() {
        condition.lock()
        inlineCommitting = false
        let wake = wakeConsumer()
        let watchers = batchesOut == 0 ? takeIdleWatchers() : []
        condition.unlock()
        wake?.resume()
        for watcher in watchers { watcher.resume() }
    }

    // MARK: - Ending

    /// Refuses later submits with `refusal`; the writers still take everything submitted before
    /// (requests waiting for room included), then see the queue finished.
    @inlinable public func finish(refusing refusal: any Error = StrataError.storeClosed(reason: "close() was called")) {
        condition.lock()
        guard case .open = phase else {
            condition.unlock()
            return
        }
        phase = .finishing(refusal)
        let wake = wakeEveryConsumer()
        condition.unlock()
        for c in wake { c.resume() }
    }

    /// Fails every request not yet taken (those waiting for room included) and every later
    /// submit with `error`; the writers then see the queue finished. Batches already taken are
    /// the writers' to finish.
    @inlinable public func close(failing error: any Error) {
        condition.lock()
        phase = .closed(error)
        let dropped = queued + waiting.map(\.pending)
        queued.removeAll()
        waiting.removeAll()
        queuedBytes = 0
        let wake = wakeEveryConsumer()
        condition.unlock()
        for pending in dropped { pending.fail(error) }
        for c in wake { c.resume() }
    }

    // MARK: - Under the lock

    @inlinable var isDrained: Bool {
        if case .open = phase { return false }
        return queued.isEmpty && waiting.isEmpty
    }

    @inlinable func isOpen(withFewerQueuedThan count: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .open = phase else { return false }
        return queued.count < count
    }

    /// Whether a submit of `bytes` would be queued at once (taking the lock).
    @inlinable func hasRoomNow(for bytes: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return waiting.isEmpty && hasRoom(for: bytes)
    }

    @inlinable func hasRoom(for bytes: Int) -> Bool {
        queued.isEmpty || (queued.count < limits.maxPendingRequests && bytes <= limits.maxPendingBytes - queuedBytes)
    }

    /// Removes the next batch from the queue and admits waiting submits into the room it made.
    @inlinable func takeLocked() -> [Pending]? {
        guard !queued.isEmpty, !inlineCommitting else { return nil }
        var count = 1
        var bytes = queued[0].bytes
        var events = queued[0].events
        if !queued[0].alone {
            while count < queued.count {
                let next = queued[count]
                if next.alone || next.bytes > limits.maxBatchBytes - bytes || next.events > limits.maxBatchEvents - events { break }
                bytes += next.bytes
                events += next.events
                count += 1
            }
        }
        let batch: [Pending]
        if count == queued.count {
            batch = queued
            queued.removeAll(keepingCapacity: true)
        } else {
            batch = Array(queued[..<count])
            queued.removeFirst(count)
        }
        queuedBytes -= bytes
        admitWaiting()
        return batch
    }

    /// Moves waiting submits into the queue, in order, while they fit.
    @inlinable func admitWaiting() {
        var admitted = 0
        while admitted < waiting.count && hasRoom(for: waiting[admitted].pending.bytes) {
            queued.append(waiting[admitted].pending)
            queuedBytes += waiting[admitted].pending.bytes
            admitted += 1
        }
        if admitted > 0 { waiting.removeFirst(admitted) }
    }

    /// Wakes one sleeping writer when there is something to take; returns the consuming task to resume.
    @inlinable func wakeConsumer() -> CheckedContinuation<Void, Never>? {
        guard !queued.isEmpty, !inlineCommitting else { return nil }
        if sleepingThreads > 0 { condition.signal() }
        return idleConsumers.popLast()
    }

    @inlinable func wakeEveryConsumer() -> [CheckedContinuation<Void, Never>] {
        condition.broadcast()
        defer { idleConsumers.removeAll() }
        return idleConsumers
    }

    @inlinable func takeIdleWatchers() -> [CheckedContinuation<Void, Never>] {
        defer { idleWatchers.removeAll() }
        return idleWatchers
    }
}

extension Array where Element == AppendRequest {
    /// What these requests weigh in a ``GroupCommitQueue``: per event its
    /// ``EventData/encodedSize`` plus its stream name and 128 bytes (about a stored record's
    /// header), and the number of events.
    public var groupCommitSize: (bytes: Int, events: Int) {
        var bytes = 0
        var events = 0
        for request in self {
            let perEvent = 128 + request.stream.utf8.count
            for event in request.events { bytes += perEvent + event.encodedSize }
            events += request.events.count
        }
        return (bytes, events)
    }
}
