import Foundation

/// How a consumer retries a failing handler before it parks the event.
///
/// Attempt `n` (from 1) that fails waits `min(maxDelay, initialDelay × 2^(n−1))`, shortened by up
/// to `jitter` (a fraction) at random so that many consumers do not retry in step.
public struct RetryPolicy: Sendable, Hashable {
    /// How many times the handler is tried in all (at least 1).
    public var maxAttempts: Int
    /// The wait after the first failure.
    public var initialDelay: Duration
    /// The longest wait.
    public var maxDelay: Duration
    /// The fraction of each wait taken off at random (0 … 1).
    public var jitter: Double

    /// Creates a policy.
    public init(maxAttempts: Int = 5, initialDelay: Duration = .milliseconds(100),
                maxDelay: Duration = .seconds(10), jitter: Double = 0.2) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = min(1, max(0, jitter))
    }

    /// Try once; never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait after failed attempt `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(0, attempt - 1), 30)
        var delay = initialDelay * (1 << exponent)
        if delay > maxDelay || delay < .zero { delay = maxDelay }
        if jitter > 0 { delay = delay * (1 - Double.random(in: 0 ... jitter)) }
        return delay
    }

    /// Runs `body` until it succeeds or `maxAttempts` attempts failed; returns the result or the
    /// last error with the number of attempts. Cancellation is never retried: it is rethrown.
    func run<T>(
        onFailure: (_ attempt: Int, _ error: any Error) -> Void,
        _ body: () async throws -> T
    ) async throws -> Outcome<T> {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return .success(try await body())
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                onFailure(attempt, error)
                if attempt >= maxAttempts { return .failure(error, attempts: attempt) }
                try await Task.sleep(for: delay(afterAttempt: attempt))
            }
        }
    }

    enum Outcome<T> {
        case success(T)
        case failure(any Error, attempts: Int)
    }
}
