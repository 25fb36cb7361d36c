import Strata
import Synchronization

/// Matching time for regular expressions shared by everything one request does: every `$regex`
/// of a filter over every document, and key patterns. A per-value limit alone would let one
/// request run a slow pattern against every document in turn; with a budget in
/// ``RegexBudget/current`` (the server sets one per request), matching stops with
/// `StrataError.timedOut(_:)` once the request has spent it.
///
/// ```swift
/// let page = try await RegexBudget.$current.withValue(RegexBudget(.milliseconds(250))) {
///     try await documents.query(filter)
/// }
/// ```
public final class RegexBudget: Sendable {
    /// The budget of the current task (nil: only the per-value limit applies).
    @TaskLocal public static var current: RegexBudget?

    /// The whole budget.
    public let total: Duration
    private let spent = Mutex<Duration>(.zero)

    /// Creates a budget of `total` matching time.
    public init(_ total: Duration) {
        self.total = total
    }

    /// The matching time left (zero once spent).
    public var remaining: Duration {
        let used = spent.withLock { $0 }
        return used >= total ? .zero : total - used
    }

    /// Records `duration` of matching.
    public func charge(_ duration: Duration) {
        spent.withLock { $0 += duration }
    }

    /// The time one match may take: `limit`, or less when the current budget has less left.
    static func allowance(upTo limit: Duration) -> Duration {
        guard let budget = current else { return limit }
        return min(limit, budget.remaining)
    }

    /// Charges the current budget, if any.
    static func chargeCurrent(_ duration: Duration) {
        current?.charge(duration)
    }
}
