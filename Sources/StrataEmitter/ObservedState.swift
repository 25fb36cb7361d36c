import Foundation
import Strata

/// A value behind a lock whose changes wake the tasks waiting for a condition on it. Every
/// update checks the waiters, so a waiter sees a state even if it lasts only one update (the
/// circuit breaker's half-open probe, for example).
// @unchecked Sendable: every access to `box` goes through `lock`.
final class ObservedState<Value: Sendable>: @unchecked Sendable {
    private struct Waiter {
        let id: UInt64
        let predicate: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private var value: Value
    private var waiters: [Waiter] = []
    private var nextID: UInt64 = 0
    /// Waiters that timed out or were cancelled before they were registered.
    private var failedEarly: [UInt64: any Error] = [:]
    private var closedError: (any Error)?

    init(_ value: Value) { self.value = value }

    /// The current value.
    var current: Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    /// Reads or changes the value under the lock, then wakes the waiters whose condition holds.
    @discardableResult
    func update<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        let result: T
        do { result = try body(&value) } catch { lock.unlock(); throw error }
        var ready: [CheckedContinuation<Void, any Error>] = []
        if !waiters.isEmpty {
            let now = value
            waiters.removeAll { waiter in
                guard waiter.predicate(now) else { return false }
                ready.append(waiter.continuation)
                return true
            }
        }
        lock.unlock()
        for continuation in ready { continuation.resume() }
        return result
    }

    /// Waits until `predicate` holds, at most `timeout`.
    /// - Throws: ``StrataError/timedOut(_:)`` naming `what`, `CancellationError`, or the error
    ///   given to ``close(_:)``.
    func wait(for what: String, timeout: Duration, until predicate: @escaping @Sendable (Value) -> Bool) async throws {
        let id: UInt64? = lock.withLock {
            if predicate(value) { return nil }
            nextID += 1
            return nextID
        }
        guard let id else { return }
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.fail(id, StrataError.timedOut("\(what) within \(timeout)"))
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: WaitOutcome = lock.withLock {
                    if let error = failedEarly.removeValue(forKey: id) { return .failed(error) }
                    if let closedError { return .failed(closedError) }
                    if predicate(value) { return .ready }
                    waiters.append(Waiter(id: id, predicate: predicate, continuation: continuation))
                    return .wait
                }
                switch now {
                case .wait: break
                case .ready: continuation.resume()
                case .failed(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            fail(id, CancellationError())
        }
    }

    /// Fails every waiter, now and later, with `error`.
    func close(_ error: any Error) {
        let all: [Waiter] = lock.withLock {
            closedError = error
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in all { waiter.continuation.resume(throwing: error) }
    }

    private func fail(_ id: UInt64, _ error: any Error) {
        let waiter: Waiter? = lock.withLock {
            if let index = waiters.firstIndex(where: { $0.id == id }) { return waiters.remove(at: index) }
            failedEarly[id] = error
            return nil
        }
        waiter?.continuation.resume(throwing: error)
    }
}

/// What a waiter finds when it registers.
enum WaitOutcome {
    case wait, ready, failed(any Error)
}
