import Synchronization

/// Requests per second per key, as token buckets holding one second's worth of requests (at
/// least one request, so that a rate below 1/s still lets a request through now and then).
final class RequestRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    private let rate: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    private let capacity: Double

    init(requestsPerSecond: Double) {
        self.rate = requestsPerSecond
        self.capacity = max(1, requestsPerSecond)
    }

    /// Takes a token for `key`, or returns the seconds to wait before one is available.
    func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Double? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, refilledAt: now)
            let elapsed = now - bucket.refilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * rate)
            bucket.refilledAt = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return (1 - bucket.tokens) / rate
        }
    }
}

/// Counts open subscriptions per key and refuses one over the limit.
final class SubscriberCounter: Sendable {
    private let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    /// Reserves a slot for `key`; false when the key already has `limit` subscriptions.
    func reserve(_ key: String) -> Bool {
        counts.withLock { counts in
            let current = counts[key, default: 0]
            guard current < limit else { return false }
            counts[key] = current + 1
            return true
        }
    }

    /// Gives a slot back.
    func release(_ key: String) {
        counts.withLock { counts in
            let current = counts[key, default: 0]
            counts[key] = current > 1 ? current - 1 : nil
        }
    }

    /// Open subscriptions, all keys together.
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}
