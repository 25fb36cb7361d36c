import Foundation
import Strata

/// Something that happened to a consumer, for code that watches it.
public enum ConsumerNotification: Sendable, Hashable {
    /// The consumer reached the head of the store for the first time since it started
    /// (simple-event-sourcing's `hasCaughtUp`). Sent once per run.
    case caughtUp(position: UInt64)
    /// The consumer handled everything there was and now waits for new events. Sent every time
    /// it becomes idle.
    case idle(position: UInt64)
    /// A handler attempt failed and will be tried again.
    case retrying(position: UInt64, attempt: Int, error: String)
    /// An event was parked after its last attempt failed.
    case parked(ParkedEvent)
}

/// A consumer's place and health, as code and the CLI read it.
public struct ConsumerStatus: Sendable, Hashable, Codable {
    /// The consumer's name.
    public var name: String
    /// The saved checkpoint: the position of the last event handled or parked (`nil`: none yet).
    public var checkpoint: UInt64?
    /// The store's head position when the status was taken.
    public var head: UInt64
    /// How many `$all` positions the consumer is behind the head (filtered-out events included).
    public var lag: UInt64
    /// The last handler error, if any, as text.
    public var lastError: String?
    /// Whether the consumer reached the head since it started.
    public var hasCaughtUp: Bool
    /// Whether the consumer is running.
    public var isRunning: Bool

    /// Creates a status.
    public init(name: String, checkpoint: UInt64?, head: UInt64, lastError: String? = nil,
                hasCaughtUp: Bool = false, isRunning: Bool = false) {
        self.name = name
        self.checkpoint = checkpoint
        self.head = head
        self.lag = head > (checkpoint ?? 0) ? head - (checkpoint ?? 0) : 0
        self.lastError = lastError
        self.hasCaughtUp = hasCaughtUp
        self.isRunning = isRunning
    }
}

/// The live state a running consumer shares with the code that watches it: its position,
/// whether it caught up, its last error, waiters on conditions and notification listeners.
final class ConsumerProgress: @unchecked Sendable {
    struct Snapshot {
        var position: UInt64 = 0
        var hasCaughtUp = false
        var isIdle = false
        var isRunning = false
        /// Partitions held (a consumer group member).
        var held = 0
        var stoppedWith: String?
        /// The error that stopped the consumer, when waiters should see it as it is.
        var stoppedBy: StrataError?
        var lastError: String?
    }

    private let lock = NSLock()
    private var snapshot = Snapshot()
    private var waiters: [UInt64: (predicate: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Void, any Error>)] = [:]
    private var cancelled: Set<UInt64> = []
    private var nextWaiter: UInt64 = 0
    private var listeners: [UInt64: AsyncStream<ConsumerNotification>.Continuation] = [:]

    var current: Snapshot { lock.withLock { snapshot } }

    /// Changes the snapshot and wakes the waiters whose condition now holds.
    func update(_ change: (inout Snapshot) -> Void) {
        let ready: [CheckedContinuation<Void, any Error>] = lock.withLock {
            change(&snapshot)
            var ready: [CheckedContinuation<Void, any Error>] = []
            for (id, waiter) in waiters where waiter.predicate(snapshot) {
                ready.append(waiter.continuation)
                waiters[id] = nil
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    func notify(_ notification: ConsumerNotification) {
        let targets = lock.withLock { Array(listeners.values) }
        for listener in targets { listener.yield(notification) }
    }

    func notifications() -> AsyncStream<ConsumerNotification> {
        let (stream, continuation) = AsyncStream.makeStream(of: ConsumerNotification.self, bufferingPolicy: .bufferingNewest(4096))
        let id = lock.withLock { () -> UInt64 in
            nextWaiter += 1
            listeners[nextWaiter] = continuation
            return nextWaiter
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            _ = self.lock.withLock { self.listeners.removeValue(forKey: id) }
        }
        return stream
    }

    /// Waits until `predicate` holds, at most `timeout`.
    /// - Throws: ``StrataError/timedOut(_:)`` naming `what` when the time runs out.
    func wait(for what: String, timeout: Duration, until predicate: @escaping @Sendable (Snapshot) -> Bool) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await self.wait(until: predicate); return true }
            group.addTask { try await Task.sleep(for: timeout); return false }
            defer { group.cancelAll() }
            guard let first = try await group.next(), first else {
                throw StrataError.timedOut("waiting for \(what) (\(timeout))")
            }
        }
    }

    private func wait(until predicate: @escaping @Sendable (Snapshot) -> Bool) async throws {
        let id = lock.withLock { () -> UInt64 in nextWaiter += 1; return nextWaiter }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = lock.withLock {
                    if cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if let stopped = snapshot.stoppedWith, !predicate(snapshot) {
                        return .failure(snapshot.stoppedBy ?? StrataError.storeClosed(reason: "the consumer stopped: \(stopped)"))
                    }
                    if predicate(snapshot) { return .success(()) }
                    waiters[id] = (predicate, continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Void, any Error>? in
                if let waiter = waiters.removeValue(forKey: id) { return waiter.continuation }
                cancelled.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Marks the consumer stopped and fails every waiter whose condition cannot hold any more:
    /// with `storeClosed`, or with the error itself when it is a checkpoint the store refused
    /// (the caller then learns what to fix).
    func stop(reason: String, error: (any Error)? = nil) {
        var refused: StrataError?
        switch error as? StrataError {
        case .checkpointAheadOfStore?, .checkpointOfAnotherStore?: refused = error as? StrataError
        default: break
        }
        let failure = refused ?? StrataError.storeClosed(reason: "the consumer stopped: \(reason)")
        let failed: [CheckedContinuation<Void, any Error>] = lock.withLock {
            snapshot.isRunning = false
            snapshot.stoppedWith = reason
            snapshot.stoppedBy = refused
            let all = waiters.values.map(\.continuation)
            waiters.removeAll()
            return all
        }
        for continuation in failed { continuation.resume(throwing: failure) }
    }
}
