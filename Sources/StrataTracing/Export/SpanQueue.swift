import Synchronization

/// The finished spans waiting for export: bounded (the oldest is dropped, and counted, when it
/// is full), handed out in batches, and the wake-up of the export loop (a full batch, a forced
/// flush, the interval's timer, shutdown).
final class SpanQueue: Sendable {
    private struct State {
        /// Waiting spans from `head` on; the prefix before `head` was handed out already.
        var spans: [FinishedSpan] = []
        var head = 0
        var dropped = 0
        /// A wake-up arrived while nobody waited: the next wait returns at once.
        var pending = false
        /// Stopped: every wait returns at once.
        var stopped = false
        var waiter: CheckedContinuation<Void, Never>?

        var count: Int { spans.count - head }
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let batchSize: Int

    init(capacity: Int, batchSize: Int) {
        self.capacity = capacity
        self.batchSize = batchSize
    }

    /// Spans dropped because the queue was full.
    var dropped: Int { state.withLock { $0.dropped } }
    /// Spans waiting.
    var count: Int { state.withLock { $0.count } }
    /// Whether ``stop()`` was called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Adds a span, dropping the oldest when full; wakes the export loop once a batch is full.
    func enqueue(_ span: FinishedSpan) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.count >= capacity {
                state.head += 1
                state.dropped += 1
            }
            state.spans.append(span)
            if state.head > 1024 && state.head * 2 > state.spans.count {
                state.spans.removeFirst(state.head)
                state.head = 0
            }
            return state.count >= batchSize ? Self.wake(&state) : nil
        }
        wake?.resume()
    }

    /// Up to one batch of the oldest spans, removed from the queue; `nil` when it is empty.
    func takeBatch() -> [FinishedSpan]? {
        state.withLock { state in
            guard state.count > 0 else { return nil }
            let end = state.head + min(batchSize, state.count)
            let batch = Array(state.spans[state.head..<end])
            state.head = end
            if state.head == state.spans.count {
                state.spans.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return batch
        }
    }

    /// Wakes the export loop (or its next wait).
    func signal() {
        state.withLock { Self.wake(&$0) }?.resume()
    }

    /// Stops: the current and every later wait return at once.
    func stop() {
        state.withLock { state in
            state.stopped = true
            return Self.wake(&state)
        }?.resume()
    }

    /// Returns once woken (see ``signal()``, ``stop()``), at once when a wake-up came since the
    /// last wait. One waiter at a time: the export loop.
    func waitForWork() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.pending || state.stopped {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private static func wake(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard let waiter = state.waiter else {
            state.pending = true
            return nil
        }
        state.waiter = nil
        return waiter
    }
}
