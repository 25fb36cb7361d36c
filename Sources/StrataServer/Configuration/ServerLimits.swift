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

    /// Creates limits.
    public init(maxBodyBytes: Int = 16 * 1024 * 1024, maxEventsPerAppend: Int = 10_000, maxEventBytes: Int = 4 * 1024 * 1024,
                maxSubscribersPerKey: Int = 2_000, requestsPerSecondPerKey: Double = 10_000, maxReadCount: Int = 1_000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxEventsPerAppend = maxEventsPerAppend
        self.maxEventBytes = maxEventBytes
        self.maxSubscribersPerKey = maxSubscribersPerKey
        self.requestsPerSecondPerKey = requestsPerSecondPerKey
        self.maxReadCount = maxReadCount
    }

    struct File: Decodable {
        var maxBodyBytes: Int?
        var maxEventsPerAppend: Int?
        var maxEventBytes: Int?
        var maxSubscribersPerKey: Int?
        var requestsPerSecondPerKey: Double?
        var maxReadCount: Int?
    }

    mutating func apply(_ file: File) {
        if let v = file.maxBodyBytes { maxBodyBytes = v }
        if let v = file.maxEventsPerAppend { maxEventsPerAppend = v }
        if let v = file.maxEventBytes { maxEventBytes = v }
        if let v = file.maxSubscribersPerKey { maxSubscribersPerKey = v }
        if let v = file.requestsPerSecondPerKey { requestsPerSecondPerKey = v }
        if let v = file.maxReadCount { maxReadCount = v }
    }

    func validate() throws {
        for (name, value) in [("maxBodyBytes", maxBodyBytes), ("maxEventsPerAppend", maxEventsPerAppend), ("maxEventBytes", maxEventBytes),
                              ("maxSubscribersPerKey", maxSubscribersPerKey), ("maxReadCount", maxReadCount)] where value <= 0 {
            throw StrataError.invalidArgument("limits.\(name) must be positive, not \(value)")
        }
        if !(requestsPerSecondPerKey > 0) { throw StrataError.invalidArgument("limits.requestsPerSecondPerKey must be positive") }
    }
}
