/// Who recorded an event: dotdo's `do` identity (a dotdo shape, kept out of the core vocabulary) (id, name, class, region, worker), kept in an
/// event's metadata as the object `"source"` by the emitter (`StrataEmitter`), CDC collections
/// (`StrataDocuments`) and the server's ingest, and read back by the lakehouse exporter.
public struct SourceIdentity: Sendable, Hashable {
    /// A stable identifier of the recording instance (a service instance, a host, an actor id).
    public var id: String
    /// A human-readable name.
    public var name: String?
    /// The kind of component (dotdo: the Durable Object class).
    public var `class`: String?
    /// Where it runs (a region; dotdo: the Cloudflare colo).
    public var region: String?
    /// The worker or process.
    public var worker: String?

    /// Creates an identity.
    public init(id: String, name: String? = nil, class: String? = nil, region: String? = nil, worker: String? = nil) {
        self.id = id
        self.name = name
        self.class = `class`
        self.region = region
        self.worker = worker
    }
}
