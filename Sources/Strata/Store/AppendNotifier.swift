import Synchronization

/// Wakes tasks waiting for the head position to move past a point. Backends call
/// ``advance(to:)`` after making appends visible; subscriptions wait through
/// ``EventStore/waitForAppends(after:)``. Waiting is cancellable and may time out (for
/// backends that also poll for appends made by other processes).
public final class AppendNotifier: Sendable {
    private struct Waiter {
        let after: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var head: UInt64
        var closed = false
        var nextID: UInt64 = 0
        var waiters: [UInt64: Waiter] = [:]
        /// Ids handed out whose wait has not finished.
        var active: Set<UInt64> = []
        /// Ids cancelled before their continuation was registered.
        var cancelled: Set<UInt64> = []
    }

    private let state: Mutex<State>

    /// Creates a notifier at a head position.
    public init(head: UInt64 = 0) { state = Mutex(State(head: head)) }

    /// The last head position announced.
    public var head: UInt64 { state.withLock { $0.head } }

    /// Announces a new head position and wakes every waiter it satisfies.
    public func advance(to head: UInt64) {
        let ready: [CheckedContinuation<Void, any Error>] = state.withLock { s in
            guard head > s.head else { return [] }
            s.head = head
            var ready: [CheckedContinuation<Void, any Error>] = []
            for (id, waiter) in s.waiters where waiter.after < head {
                ready.append(waiter.continuation)
                s.waiters[id] = nil
                s.active.remove(id)
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Wakes every waiter; later waits return at once. Used when the store closes.
    public func close() {
        let all: [CheckedContinuation<Void, any Error>] = state.withLock { s in
            s.closed = true
            let all = s.waiters.values.map(\.continuation)
            s.waiters.removeAll()
            s.active.removeAll()
            return all
        }
        for continuation in all { continuation.resume() }
    }

    /// Returns when the head is greater than `position`, when `timeout` passes, or when the
    /// notifier closes. Throws `CancellationError` if the task is cancelled.
    public func wait(after position: UInt64, timeout: Duration? = nil) async throws {
        let id: UInt64? = state.withLock { s in
            if s.head > position || s.closed { return nil }
            s.nextID += 1
            s.active.insert(s.nextID)
            return s.nextID
        }
        guard let id else { return }
        let timer: Task<Void, Never>? = timeout.map { timeout in
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self?.finish(id) }
            }
        }
        defer { timer?.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, resume, cancel }
                let now: Now = state.withLock { s in
                    if s.cancelled.remove(id) != nil { s.active.remove(id); return .cancel }
                    if !s.active.contains(id) || s.head > position || s.closed { s.active.remove(id); return .resume }
                    s.waiters[id] = Waiter(after: position, continuation: continuation)
                    return .wait
                }
                switch now {
                case .wait: break
                case .resume: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = state.withLock { s in
                if let waiter = s.waiters.removeValue(forKey: id) {
                    s.active.remove(id)
                    return waiter.continuation
                }
                if s.active.contains(id) { s.cancelled.insert(id) }
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Ends one wait normally (its timeout passed).
    private func finish(_ id: UInt64) {
        let continuation: CheckedContinuation<Void, any Error>? = state.withLock { s in
            s.active.remove(id)
            return s.waiters.removeValue(forKey: id)?.continuation
        }
        continuation?.resume()
    }
}
