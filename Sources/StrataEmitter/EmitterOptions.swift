import Strata
import StrataJSONShapes
import StrataConsumers

/// How an ``Emitter`` writes its outbox. A value type with defaults, passed once.
public struct EmitterOptions: Sendable {
    /// The identity added to every event as `source` (refine it per request with
    /// ``Emitter/refineSource(fromRequestHeaders:mapping:)``).
    public var source: SourceIdentity
    /// The stream the outbox events are appended to.
    public var outboxStream: String
    /// The size cap: the most events emitted but not yet delivered (buffered, or in the outbox
    /// after the shipper's last delivery). Reaching it makes `emit` throw
    /// ``EmitterError/outboxFull(pending:limit:)``; nothing is ever dropped.
    public var maxPendingEvents: Int
    /// The most events appended to the store at once (one group commit).
    public var maxEventsPerAppend: Int
    /// Per-event limits checked by `emit`; keep them within the store's own.
    public var limits: EventLimits
    /// The backoff of a failing outbox append (exponential with jitter: `initialDelay` is the
    /// base, `maxDelay` the cap). The events stay buffered meanwhile and attempts never stop:
    /// `maxAttempts` is not used.
    public var appendRetry: RetryPolicy

    /// Creates options.
    public init(source: SourceIdentity, outboxStream: String = "outbox", maxPendingEvents: Int = 1_000_000,
                maxEventsPerAppend: Int = 4096, limits: EventLimits = .default,
                appendRetry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(5))) {
        self.source = source
        self.outboxStream = outboxStream
        self.maxPendingEvents = max(1, maxPendingEvents)
        self.maxEventsPerAppend = max(1, maxEventsPerAppend)
        self.limits = limits
        self.appendRetry = appendRetry
    }
}

/// Errors of the emitter and the shipper.
public enum EmitterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The size cap is reached: `pending` events are emitted but not yet delivered. Nothing was
    /// stored; emit again once the shipper has delivered some (or raise the cap).
    case outboxFull(pending: Int, limit: Int)
    /// The emitter was closed, or its outbox store failed for good; `reason` says which.
    case closed(reason: String)
    /// The endpoint answered a batch with a status other than 2xx.
    case httpStatus(code: Int, body: String)
    /// The endpoint is not a usable `http` or `https` URL.
    case invalidEndpoint(String)

    public var description: String {
        switch self {
        case .outboxFull(let pending, let limit):
            return "the emitter's outbox is full: \(pending) events are not yet delivered (limit \(limit)); nothing was stored"
        case .closed(let reason): return "the emitter is closed: \(reason)"
        case .httpStatus(let code, let body): return "the endpoint answered HTTP \(code): \(body)"
        case .invalidEndpoint(let url): return "\(url.debugDescription) is not an http or https URL"
        }
    }
}
