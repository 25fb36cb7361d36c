import Strata
import Synchronization

/// The port a server listens on once it runs, and the callers waiting for it: what
/// `waitUntilRunning()` of every server `strata serve` runs (HTTP, and KurrentDB's gRPC) awaits.
package final class ListeningPort: Sendable {
    private let host: String
    private let state = Mutex<State>(State())

    private struct State {
        var port: Int?
        var failure: String?
        var waiters: [CheckedContinuation<Int, any Error>] = []
    }

    /// - Parameter host: the address listened on, named in a failure.
    package init(host: String) { self.host = host }

    /// The port, once listening.
    package var port: Int? { state.withLock { $0.port } }

    /// Waits until the server listens and returns its port.
    /// - Throws: ``Strata/StrataError/io(path:operation:reason:)`` when it failed to start.
    package func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Int, any Error>? = state.withLock { state in
                if let port = state.port { return .success(port) }
                if let failure = state.failure { return .failure(StrataError.io(path: host, operation: "listen", reason: failure)) }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Records the port and wakes the waiters.
    package func listening(on port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// Records a failure to start and wakes the waiters with it.
    package func failed(_ error: any Error) {
        let waiters = state.withLock { state in
            state.failure = "\(error)"
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: StrataError.io(path: host, operation: "listen", reason: "\(error)")) }
    }
}
