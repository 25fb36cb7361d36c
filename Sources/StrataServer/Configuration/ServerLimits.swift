import Strata

/// The limits a server enforces before a request reaches the store. Over a limit the request
/// is refused with 413 or 429 and a JSON error, and nothing is stored.
public struct ServerLimits: Sendable, Hashable {
    /// The largest request body, in bytes. Default 16 MiB.
    public var maxBodyBytes: Int
    /// The most events in one append or ingest batch. Default 10,000.
    public var maxEventsPerAppend: Int
    /// The largest event (as the store counts it: type, content type, metadata, data). Default 4 MiB.
    public var maxEventBytes: Int
    /// Concurrent subscriptions (SSE and WebSocket) per API key (or for all anonymous clients
    /// together when no key is configured). Default 2,000.
    public var maxSubscribersPerKey: Int
    /// Requests per second per key (a token bucket holding one second's worth). Default 10,000.
    public var requestsPerSecondPerKey: Double
    /// The most events one read returns. Default 1,000.
    public var maxReadCount: Int
    /// Open connections, all clients together; further connections wait in the listen backlog
    /// until one closes. Default 10,000.
    public var maxConnections: Int
    /// Seconds a connection may stay open without a request in flight, or with a request head
    /// not yet complete (slowloris), before the server closes it. Default 60.
    public var idleTimeoutSeconds: Double
    /// Seconds a request body may take to arrive. Default 30.
    public var requestBodyTimeoutSeconds: Double
    /// The largest request head (request line and header fields), in bytes. Default 16 KiB.
    public var maxHeaderBytes: Int
    /// The most header fields in a request. Default 100.
    public var maxHeaderCount: Int
    /// The largest read response, in bytes: a page of events (or documents) ends before it
    /// would exceed this, with at least one item, and `next` continues. Default 8 MiB.
    public var maxResponseBytes: Int
    /// Document collections open at once (each keeps a view of its documents): over it, the
    /// least recently used collection without subscriptions is closed; when every open one has
    /// subscriptions, opening another answers 503. Default 64.
    public var maxOpenCollections: Int
    /// Milliseconds of regular-expression matching (`$regex` filters, key patterns) one request
    /// may use, all values together. Default 250.
    public var regexBudgetMilliseconds: Int
    /// The longest a persistent subscription read may wait for events
    /// (`POST /subscriptions/{stream}/{group}/read?wait=MS`); a longer `wait` is refused with
    /// 400. Default 60,000 (one minute).
    public var maxSubscriptionWaitMilliseconds: Int

    /// Creates limits.
    public init(maxBodyBytes: Int = 16 * 1024 * 1024, maxEventsPerAppend: Int = 10_000, maxEventBytes: Int = 4 * 1024 * 1024,
                maxSubscribersPerKey: Int = 2_000, requestsPerSecondPerKey: Double = 10_000, maxReadCount: Int = 1_000,
                maxConnections: Int = 10_000, idleTimeoutSeconds: Double = 60, requestBodyTimeoutSeconds: Double = 30,
                maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxResponseBytes: Int = 8 * 1024 * 1024,
                maxOpenCollections: Int = 64, regexBudgetMilliseconds: Int = 250, maxSubscriptionWaitMilliseconds: Int = 60_000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxEventsPerAppend = maxEventsPerAppend
        self.maxEventBytes = maxEventBytes
        self.maxSubscribersPerKey = maxSubscribersPerKey
        self.requestsPerSecondPerKey = requestsPerSecondPerKey
        self.maxReadCount = maxReadCount
        self.maxConnections = maxConnections
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.requestBodyTimeoutSeconds = requestBodyTimeoutSeconds
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxResponseBytes = maxResponseBytes
        self.maxOpenCollections = maxOpenCollections
        self.regexBudgetMilliseconds = regexBudgetMilliseconds
        self.maxSubscriptionWaitMilliseconds = maxSubscriptionWaitMilliseconds
    }

    /// ``regexBudgetMilliseconds`` as a duration.
    var regexBudget: Duration { .milliseconds(regexBudgetMilliseconds) }

    struct File: Decodable {
        var maxBodyBytes: Int?
        var maxEventsPerAppend: Int?
        var maxEventBytes: Int?
        var maxSubscribersPerKey: Int?
        var requestsPerSecondPerKey: Double?
        var maxReadCount: Int?
        var maxConnections: Int?
        var idleTimeoutSeconds: Double?
        var requestBodyTimeoutSeconds: Double?
        var maxHeaderBytes: Int?
        var maxHeaderCount: Int?
        var maxResponseBytes: Int?
        var maxOpenCollections: Int?
        var regexBudgetMilliseconds: Int?
        var maxSubscriptionWaitMilliseconds: Int?
    }

    mutating func apply(_ file: File) {
        if let v = file.maxBodyBytes { maxBodyBytes = v }
        if let v = file.maxEventsPerAppend { maxEventsPerAppend = v }
        if let v = file.maxEventBytes { maxEventBytes = v }
        if let v = file.maxSubscribersPerKey { maxSubscribersPerKey = v }
        if let v = file.requestsPerSecondPerKey { requestsPerSecondPerKey = v }
        if let v = file.maxReadCount { maxReadCount = v }
        if let v = file.maxConnections { maxConnections = v }
        if let v = file.idleTimeoutSeconds { idleTimeoutSeconds = v }
        if let v = file.requestBodyTimeoutSeconds { requestBodyTimeoutSeconds = v }
        if let v = file.maxHeaderBytes { maxHeaderBytes = v }
        if let v = file.maxHeaderCount { maxHeaderCount = v }
        if let v = file.maxResponseBytes { maxResponseBytes = v }
        if let v = file.maxOpenCollections { maxOpenCollections = v }
        if let v = file.regexBudgetMilliseconds { regexBudgetMilliseconds = v }
        if let v = file.maxSubscriptionWaitMilliseconds { maxSubscriptionWaitMilliseconds = v }
    }

    func validate() throws {
        for (name, value) in [("maxBodyBytes", maxBodyBytes), ("maxEventsPerAppend", maxEventsPerAppend), ("maxEventBytes", maxEventBytes),
                              ("maxSubscribersPerKey", maxSubscribersPerKey), ("maxReadCount", maxReadCount),
                              ("maxConnections", maxConnections), ("maxHeaderBytes", maxHeaderBytes), ("maxHeaderCount", maxHeaderCount),
                              ("maxResponseBytes", maxResponseBytes), ("maxOpenCollections", maxOpenCollections),
                              ("regexBudgetMilliseconds", regexBudgetMilliseconds),
                              ("maxSubscriptionWaitMilliseconds", maxSubscriptionWaitMilliseconds)] where value <= 0 {
            throw StrataError.invalidArgument("limits.\(name) must be positive, not \(value)")
        }
        for (name, value) in [("requestsPerSecondPerKey", requestsPerSecondPerKey), ("idleTimeoutSeconds", idleTimeoutSeconds),
                              ("requestBodyTimeoutSeconds", requestBodyTimeoutSeconds)] where !(value > 0 && value.isFinite) {
            throw StrataError.invalidArgument("limits.\(name) must be positive, not \(value)")
        }
    }
}
