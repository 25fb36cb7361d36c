/// Bounded waiting for the tests: every wait has a deadline, and says what it waited for when
/// the deadline passes. No test sleeps and hopes.
public enum Wait {
    /// Polls `condition` every `interval` until it holds.
    /// - Throws: ``TimedOut`` once `timeout` has passed, or what `condition` throws (a condition
    ///   can give up early by throwing, e.g. when the child it watches has exited).
    public static func until(_ what: String, timeout: Duration = .seconds(20), interval: Duration = .milliseconds(5),
                             _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            if ContinuousClock.now >= deadline { throw TimedOut(what: what, after: timeout) }
            try await Task.sleep(for: interval)
        }
    }

    /// Runs `body` and returns its value; cancels it and throws ``TimedOut`` when it takes longer
    /// than `timeout`.
    @discardableResult
    public static func within<T: Sendable>(_ timeout: Duration, _ what: String,
                                           _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut(what: what, after: timeout) }
            return value
        }
    }
}

/// A bounded wait ran out: ``Wait/until(_:timeout:interval:_:)``, ``Wait/within(_:_:_:)`` or a
/// ``ChildProcess`` wait.
public struct TimedOut: Error, CustomStringConvertible {
    /// What was waited for.
    public let what: String
    /// How long.
    public let after: Duration

    /// A timeout of a wait for `what` that lasted `after`.
    public init(what: String, after: Duration) {
        self.what = what
        self.after = after
    }

    /// "timed out after 20 seconds waiting for …".
    public var description: String { "timed out after \(after) waiting for \(what)" }
}
