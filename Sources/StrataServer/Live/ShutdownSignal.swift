import Foundation
import Synchronization

/// Tells every open subscription that the server is shutting down, so that long-lived
/// responses end and the server's graceful shutdown can complete.
package final class ShutdownSignal: Sendable {
    private struct State {
        var triggered = false
        var waiters: [UUID: AsyncStream<Void>.Continuation] = [:]
    }

    private let state = Mutex(State())

    /// Whether shutdown has begun.
    package var isTriggered: Bool { state.withLock { $0.triggered } }

    /// A sequence that yields once when shutdown begins (at once if it already has).
    package func stream() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        let id = UUID()
        let already = state.withLock { state in
            if !state.triggered { state.waiters[id] = continuation }
            return state.triggered
        }
        if already {
            continuation.yield()
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.waiters.removeValue(forKey: id) }
            }
        }
        return stream
    }

    /// Begins shutdown: every stream yields and finishes.
    func trigger() {
        let waiters = state.withLock { state in
            state.triggered = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.yield()
            waiter.finish()
        }
    }
}
