import Synchronization

/// A subscription's bounded buffer: the connection's reader appends, one consumer takes. When
/// the buffer is full, new messages are dropped and counted, and the consumer's next call
/// throws ``NATSError/slowConsumer(subject:dropped:)`` once (then goes on with what it has).
final class SubscriptionBuffer: Sendable {
    private struct State {
        var queue: [NATSMessage] = []
        var head = 0
        var dropped = 0
        var finished: (any Error)??
        var waiter: CheckedContinuation<NATSMessage?, any Error>?
    }

    let subject: String
    private let limit: Int
    private let state = Mutex(State())

    init(subject: String, limit: Int) {
        self.subject = subject
        self.limit = max(1, limit)
    }

    /// Hands a message to the consumer, or drops it when the buffer is full. Returns false when dropped.
    @discardableResult
    func deliver(_ message: NATSMessage) -> Bool {
        let (waiter, accepted): (CheckedContinuation<NATSMessage?, any Error>?, Bool) = state.withLock { s in
            if s.finished != nil { return (nil, true) }
            if let w = s.waiter, s.dropped == 0 {
                s.waiter = nil
                return (w, true)
            }
            if s.queue.count - s.head >= limit {
                s.dropped += 1
                return (nil, false)
            }
            s.queue.append(message)
            return (nil, true)
        }
        waiter?.resume(returning: message)
        return accepted
    }

    /// Ends the sequence: `nil` ends it normally after the buffered messages, an error ends it with that error.
    func finish(_ error: (any Error)? = nil) {
        let waiter: CheckedContinuation<NATSMessage?, any Error>? = state.withLock { s in
            if s.finished == nil { s.finished = .some(error) }
            defer { s.waiter = nil }
            return s.queue.count == s.head ? s.waiter : nil
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    /// Wakes a waiting consumer with `nil` although the buffer is not finished (a timeout).
    func interrupt() {
        let w = state.withLock { s -> CheckedContinuation<NATSMessage?, any Error>? in
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume(returning: nil)
    }

    /// Whether ``finish(_:)`` was called.
    var isFinished: Bool { state.withLock { $0.finished != nil } }

    /// How many messages wait in the buffer.
    var pending: Int { state.withLock { $0.queue.count - $0.head } }

    private enum Take { case message(NATSMessage), end, fail(any Error), wait }

    private func take(_ s: inout State) -> Take {
        if s.dropped > 0 {
            let n = s.dropped
            s.dropped = 0
            return .fail(NATSError.slowConsumer(subject: subject, dropped: n))
        }
        if s.head < s.queue.count {
            let m = s.queue[s.head]
            s.head += 1
            if s.head == s.queue.count { s.queue.removeAll(keepingCapacity: s.queue.count < 4096); s.head = 0 }
            else if s.head > 4096 && s.head * 2 > s.queue.count { s.queue.removeFirst(s.head); s.head = 0 }
            return .message(m)
        }
        if let f = s.finished {
            if let error = f { return .fail(error) }
            return .end
        }
        return .wait
    }

    /// The next message; `nil` when finished or when the task is cancelled.
    func next() async throws -> NATSMessage? {
        switch state.withLock({ take(&$0) }) {
        case .message(let m): return m
        case .end: return nil
        case .fail(let e): throw e
        case .wait: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<NATSMessage?, any Error>) in
                let now: Take = state.withLock { s in
                    if Task.isCancelled { return .end }
                    let t = take(&s)
                    if case .wait = t { s.waiter = c }
                    return t
                }
                switch now {
                case .message(let m): c.resume(returning: m)
                case .end: c.resume(returning: nil)
                case .fail(let e): c.resume(throwing: e)
                case .wait: break
                }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<NATSMessage?, any Error>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            w?.resume(returning: nil)
        }
    }
}

/// A subscription: an async sequence of the messages delivered to it, buffered up to the
/// connection's ``NATSConfiguration/subscriptionBufferLimit``. Iterate it from one task.
///
/// ```swift
/// let sub = try await connection.subscribe(to: "orders.>")
/// for try await message in sub { print(message.subject) }
/// ```
public struct NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    /// The subscription id.
    public let sid: UInt64
    /// The subject (may have wildcards).
    public let subject: String
    let buffer: SubscriptionBuffer
    let connection: NATSConnection

    /// Stops the subscription on the server and ends the sequence.
    public func unsubscribe() async {
        await connection.unsubscribe(sid)
    }

    /// Messages waiting in the buffer.
    public var pendingMessages: Int { buffer.pending }

    /// The next message, or `nil` when none came within `timeout`, the subscription ended or
    /// the task was cancelled (``isFinished`` tells the second case apart).
    public func next(timeout: Duration) async throws -> NATSMessage? {
        let buffer = self.buffer
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { buffer.interrupt() }
        }
        defer { timer.cancel() }
        return try await buffer.next()
    }

    /// Whether the subscription ended (unsubscribed, or the connection closed).
    public var isFinished: Bool { buffer.isFinished }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: SubscriptionBuffer
        /// The next message; throws ``NATSError/slowConsumer(subject:dropped:)`` once after an overflow.
        public mutating func next() async throws -> NATSMessage? { try await buffer.next() }
    }
}
