import Strata
import Synchronization
import Testing

/// Every wait in the suite is bounded: a condition that does not hold within this many seconds fails the check.
let waitLimit: Duration = .seconds(180)

/// A bounded wait ran out.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out after \(waitLimit) waiting for \(what)" }
}

/// Runs `body` in a child task and throws ``TimedOut`` when it has not finished within `limit`
/// (the child is then cancelled).
func withDeadline<T: Sendable>(_ what: String, limit: Duration = waitLimit,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Optional<T>.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// Polls `condition` every 10 ms until it holds; throws ``TimedOut`` after `limit`.
func eventually(_ what: String, limit: Duration = waitLimit, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        if ContinuousClock.now >= deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Consumes a subscription in its own task and records what arrives, so that a check can
/// append, then wait (bounded) for what the subscriber must see. Cancel it when done.
final class SubscriptionProbe: Sendable {
    private struct State {
        var messages: [SubscriptionMessage] = []
        var ended = false
        var error: StrataError?
        var otherError: String?
    }

    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    private init() {}

    /// Starts consuming `subscription`.
    static func start(_ subscription: Subscription) -> SubscriptionProbe {
        let probe = SubscriptionProbe()
        let task = Task { await probe.consume(subscription) }
        probe.task.withLock { $0 = task }
        return probe
    }

    private func consume(_ subscription: Subscription) async {
        do {
            for try await message in subscription {
                state.withLock { $0.messages.append(message) }
            }
            state.withLock { $0.ended = true }
        } catch let error as StrataError {
            state.withLock { $0.error = error; $0.ended = true }
        } catch {
            state.withLock { $0.otherError = "\(type(of: error)): \(error)"; $0.ended = true }
        }
    }

    /// Everything received so far.
    var messages: [SubscriptionMessage] { state.withLock { $0.messages } }
    /// The events received so far.
    var events: [RecordedEvent] { messages.compactMap(\.event) }
    /// The number of `.caughtUp` messages received so far.
    var caughtUpCount: Int { messages.filter { if case .caughtUp = $0 { true } else { false } }.count }

    /// Waits until the received messages satisfy `condition`; fails if the subscription ends first.
    @discardableResult
    func waitUntil(_ what: String, _ condition: ([SubscriptionMessage]) -> Bool) async throws -> [SubscriptionMessage] {
        var seen: [SubscriptionMessage] = []
        try await eventually(what) {
            let s = state.withLock { ($0.messages, $0.ended, $0.error, $0.otherError) }
            seen = s.0
            if condition(s.0) { return true }
            if s.1 {
                throw TimedOut(what: "\(what), but the subscription ended (\(s.2.map { "\($0)" } ?? s.3 ?? "no error")) after \(s.0.count) messages")
            }
            return false
        }
        return seen
    }

    /// Waits until at least `count` events arrived and returns every event.
    @discardableResult
    func waitForEvents(_ count: Int) async throws -> [RecordedEvent] {
        try await waitUntil("\(count) events") { $0.lazy.compactMap(\.event).count >= count }.compactMap(\.event)
    }

    /// Waits for the first `.caughtUp` and returns its value.
    @discardableResult
    func waitForCaughtUp() async throws -> UInt64 {
        let messages = try await waitUntil("caughtUp") { $0.contains { if case .caughtUp = $0 { true } else { false } } }
        for case .caughtUp(let at) in messages { return at }
        return 0
    }

    /// Waits until the subscription ends and returns the StrataError it threw, if any.
    func waitForEnd() async throws -> StrataError? {
        try await eventually("the subscription to end") { state.withLock { $0.ended } }
        return state.withLock { s in
            if let other = s.otherError { Issue.record("the subscription threw a non-Strata error: \(other)") }
            return s.error
        }
    }

    /// Stops the consuming task.
    func cancel() {
        task.withLock { $0?.cancel() }
    }

    /// Cancels the task and waits (bounded) for it to finish.
    func cancelAndWait() async throws {
        let task = task.withLock { $0 }
        task?.cancel()
        if let task { try await withDeadline("the subscription task to stop after cancellation") { await task.value } }
    }
}
