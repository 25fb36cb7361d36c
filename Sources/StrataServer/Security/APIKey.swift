/// An API key: a secret, what it may do, and optionally which streams.
///
/// In a configuration file or `STRATA_API_KEYS`:
/// `{"name": "ingest-bot", "key": "…at least 16 characters…", "scopes": ["write"], "streamPrefix": "ingest-"}`.
public struct APIKey: Sendable, Hashable, Codable {
    /// What a key may do.
    public enum Scope: String, Sendable, Hashable, Codable {
        /// Reads, stream info, listings, subscriptions, stats.
        case read
        /// Appends, ingest, deletes, stream metadata.
        case write
        /// Everything, including `/metrics` and `/consumers`.
        case admin
    }

    /// A name for logs and metrics (the secret itself is never logged).
    public var name: String
    /// The secret the client sends.
    public var key: String
    /// What the key may do.
    public var scopes: Set<Scope>
    /// When set, the key may only touch streams whose names start with this prefix; its `$all`
    /// reads and subscriptions are filtered to it.
    public var streamPrefix: String?

    /// Creates a key.
    public init(name: String, key: String, scopes: Set<Scope>, streamPrefix: String? = nil) {
        self.name = name
        self.key = key
        self.scopes = scopes
        self.streamPrefix = streamPrefix
    }

    /// Whether the key grants `scope` (admin grants everything).
    public func allows(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }

    /// Whether the key may touch `stream`.
    public func covers(stream: String) -> Bool {
        guard let streamPrefix else { return true }
        return stream.utf8.starts(with: streamPrefix.utf8)
    }
}
