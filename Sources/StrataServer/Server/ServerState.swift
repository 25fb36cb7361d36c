import Foundation
import HTTPTypes
import Logging
import Prometheus
import Strata
import StrataDocuments
import Synchronization

/// What every handler shares: the store, the settings and the server's bookkeeping.
package final class ServerState: Sendable {
    package let store: any EventStore
    package let configuration: ServerConfiguration
    package let logger: Logger
    let metrics: ServerMetrics
    package let authenticator: Authenticator
    /// Origin, host and content-type rules for browsers.
    let browserPolicy: BrowserPolicy
    let rateLimiter: RequestRateLimiter
    let subscribers: SubscriberCounter
    package let shutdown = ShutdownSignal()
    let resources: StaticResources
    /// The shared reader of `$all`'s head that live `$all` subscriptions follow.
    package let tail: LiveTail
    /// The document collections served under `/documents/…`, opened on first use.
    let documents: DocumentManager
    /// Document snapshots under ``ServerConfiguration/snapshotsDirectory``, when one is configured.
    let snapshots: DocumentSnapshots?
    /// Stopped store and background consumers: what `/health/ready` reports.
    let health: ServerHealth

    init(store: any EventStore, configuration: ServerConfiguration, logger: Logger) throws {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.metrics = ServerMetrics(registry: configuration.metricsRegistry)
        self.authenticator = try Authenticator(keys: configuration.apiKeys)
        self.browserPolicy = BrowserPolicy(configuration: configuration)
        self.rateLimiter = RequestRateLimiter(requestsPerSecond: configuration.limits.requestsPerSecondPerKey)
        self.subscribers = SubscriberCounter(limit: configuration.limits.maxSubscribersPerKey)
        self.resources = try StaticResources.load()
        let health = ServerHealth(logger: logger, metrics: metrics)
        self.health = health
        let directory = configuration.documentsDirectory
        let indexes = configuration.documentIndexes
        let metricsFactory = PrometheusMetricsFactory(registry: metrics.registry)
        let documents = DocumentManager(store: store, options: DocumentManagerOptions(
            idleTimeout: .seconds(600), maxOpen: configuration.limits.maxOpenCollections, collectionOptions: { collection in
            DocumentStoreOptions(directory: directory.map { ($0 as NSString).appendingPathComponent(collection) },
                                 indexes: indexes[collection] ?? [],
                                 onViewStopped: { collection, error in
                                     health.stopped(ServerHealth.component(collection: collection), kind: .documents, error: error)
                                 },
                                 logger: logger, metrics: metricsFactory)
        }))
        self.documents = documents
        self.snapshots = configuration.snapshotsDirectory.map { DocumentSnapshots(root: $0) }
        self.tail = LiveTail(store: store, capacity: configuration.liveWindowEvents, heartbeat: .milliseconds(Int64(configuration.heartbeatSeconds * 1000)), logger: logger,
                             onStop: { error in
                                 // Subscriptions fall back to reading the store: slower, still correct, so still ready.
                                 health.stopped("live-tail", kind: .liveTail, error: error, blocksReadiness: false)
                             })
    }

    /// Follows the document manager: a collection opened (again) or closed no longer holds a
    /// stopped view. Runs until the manager closes.
    func followDocuments() async {
        for await event in await documents.events() {
            switch event {
            case .opened(let name), .closed(let name): health.recovered(ServerHealth.component(collection: name))
            }
        }
    }

    /// Begins shutdown: open subscriptions end, new ones are refused.
    package func beginShutdown() {
        shutdown.trigger()
        tail.stop()
    }

    var limits: ServerLimits { configuration.limits }

    var heartbeat: Duration { .milliseconds(Int64(configuration.heartbeatSeconds * 1000)) }

    /// Authenticates the key a request presents and takes a token of its rate limit: the one
    /// admission check of HTTP requests (``GuardMiddleware``) and WebSocket upgrades.
    func admit(headers: HTTPFields, query: [String: [String]], isGet: Bool) throws(APIError) -> Principal {
        try admit(presentedKey: Authenticator.presentedKey(headers: headers, query: query, isGet: isGet))
    }

    /// Authenticates a presented secret (nil when none was sent) and takes a token of its
    /// key's rate limit: shared by every protocol the server speaks.
    package func admit(presentedKey: String?) throws(APIError) -> Principal {
        let principal = try authenticator.authenticate(presentedKey)
        if let wait = rateLimiter.acquire(principal.name) {
            var error = APIError(.tooManyRequests, code: "rate-limited",
                                 "over \(Int(limits.requestsPerSecondPerKey)) requests per second for this key; retry later")
            error.retryAfter = max(1, Int(wait.rounded(.up)))
            throw error
        }
        return principal
    }

    /// Reserves a subscription slot for the principal, or throws 429.
    package func reserveSubscriber(_ principal: Principal) throws(APIError) {
        guard !shutdown.isTriggered else {
            throw APIError(.serviceUnavailable, code: "shutting-down", "the server is shutting down")
        }
        guard subscribers.reserve(principal.name) else {
            var error = APIError(.tooManyRequests, code: "too-many-subscribers",
                                 "this key already has \(limits.maxSubscribersPerKey) open subscriptions; close one first",
                                 details: [("limit", .signed(Int64(limits.maxSubscribersPerKey)))])
            error.retryAfter = 1
            throw error
        }
        metrics.subscribers.record(subscribers.total)
    }

    package func releaseSubscriber(_ principal: Principal) {
        subscribers.release(principal.name)
        metrics.subscribers.record(subscribers.total)
    }

    /// Appends with timing and metrics.
    package func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        let started = ContinuousClock.now
        do {
            let results = try await store.append(requests, condition: condition)
            metrics.appended(requests.reduce(0) { $0 + $1.events.count }, lastPosition: results.last?.lastPosition ?? 0,
                             duration: .now - started)
            return results
        } catch let error as StrataError {
            switch error {
            case .wrongExpectedRevision, .eventIdReused, .appendConditionFailed: metrics.appendConflicts.increment()
            case .storeClosed: health.storeFailed(error)
            default: break
            }
            throw error
        }
    }
}
