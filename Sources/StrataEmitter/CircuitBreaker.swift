/// The state of a shipper's circuit breaker.
public enum CircuitState: String, Sendable, Hashable {
    /// Requests flow; failures are counted.
    case closed
    /// Too many consecutive failures: no request is sent until the reset time has passed.
    case open
    /// The reset time has passed: one probe request is in flight; its success closes the
    /// circuit, its failure opens it again.
    case halfOpen = "half-open"
}

/// When a shipper's circuit opens and how long it stays open.
public struct CircuitBreakerOptions: Sendable, Hashable {
    /// Consecutive failed requests that open the circuit.
    public var failureThreshold: Int
    /// How long the circuit stays open before a half-open probe.
    public var resetTimeout: Duration

    /// Creates options.
    public init(failureThreshold: Int = 5, resetTimeout: Duration = .seconds(30)) {
        self.failureThreshold = max(1, failureThreshold)
        self.resetTimeout = max(.zero, resetTimeout)
    }
}

/// The breaker's state machine (closed → open after `failureThreshold` consecutive failures →
/// half-open after `resetTimeout` → closed on the probe's success, open again on its failure).
struct CircuitBreaker: Sendable {
    let options: CircuitBreakerOptions
    private(set) var state: CircuitState = .closed
    private(set) var consecutiveFailures = 0
    private(set) var openedAt: ContinuousClock.Instant?

    init(options: CircuitBreakerOptions) { self.options = options }

    /// When a request may be sent: now (`nil`) or at the returned instant (the circuit is open).
    func nextAttempt(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard state == .open, let openedAt else { return nil }
        let reopen = openedAt + options.resetTimeout
        return reopen > now ? reopen : nil
    }

    /// Called right before a request: an open circuit whose reset time has passed becomes half-open.
    mutating func beforeRequest(now: ContinuousClock.Instant) {
        if state == .open, nextAttempt(now: now) == nil { state = .halfOpen }
    }

    mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
        openedAt = nil
    }

    mutating func recordFailure(now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        if state == .halfOpen || consecutiveFailures >= options.failureThreshold {
            state = .open
            openedAt = now
        }
    }
}
