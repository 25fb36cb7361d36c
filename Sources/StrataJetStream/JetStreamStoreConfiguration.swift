import Strata
import StrataNATS

/// The settings of a ``JetStreamEventStore``.
///
/// ```swift
/// var config = try JetStreamStoreConfiguration(urls: ["nats://n1:4222", "nats://n2:4222"], store: "orders")
/// config.replicas = 3
/// let store = try await JetStreamEventStore.open(config)
/// ```
public struct JetStreamStoreConfiguration: Sendable {
    /// The NATS connection settings.
    public var nats: NATSConfiguration
    /// The JetStream stream that holds the store (`STRATA_<store>` by default).
    public var streamName: String
    /// The subject prefix of the store's entries (`strata.<store>` by default): the stream
    /// captures `<prefix>.>`.
    public var subjectPrefix: String
    /// The JetStream stream that holds the store's index (`STRATAIX_<store>` by default; docs/JETSTREAM.md,
    /// "Index format, version 1").
    public var indexStreamName: String
    /// The subject prefix of the index's keys (`strataix.<store>` by default): the index stream
    /// captures `<indexSubjectPrefix>.>`. It must not overlap ``subjectPrefix``.
    public var indexSubjectPrefix: String
    /// Replicas of the streams when the store creates them (1, or 3/5 in a cluster).
    public var replicas = 1
    /// Whether the stream is kept on disk (`true`) or in memory.
    public var fileStorage = true
    /// Per-event limits; the servers' `max_payload` must exceed `maxEventSize` by 64 KiB.
    public var limits = EventLimits.default
    /// Whether reads first ask the server for the stream's last sequence and make sure the index
    /// covers it (reads then see every append acknowledged anywhere before the read). When
    /// `false`, reads see the index as far as this instance knows it is complete (its own writes
    /// are always in it), without that round trip.
    public var linearizableReads = true
    /// How many commits, events and index chunks one instance keeps in memory.
    public var cacheLimits = JetStreamCacheLimits()
    /// How long an operation that finds the index behind the main stream waits for the writer of
    /// the missing entries to index them before it indexes them itself (the writer may have died
    /// between its commit and its index).
    public var indexRepairDelay: Duration = .seconds(1)
    /// The most events one group commit carries.
    public var maxEventsPerCommit = 4096
    /// How long an operation waits for the cluster (a leader election, a reconnect) before it
    /// fails with ``StrataError/timedOut(_:)``.
    public var operationTimeout: Duration = .seconds(30)

    /// Creates a configuration for a store name of `[A-Za-z0-9_-]` (1–64 characters).
    /// - Throws: ``StrataError/invalidArgument(_:)`` for another name.
    public init(nats: NATSConfiguration, store: String) throws {
        guard (1...64).contains(store.utf8.count),
              store.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 })
        else {
            throw StrataError.invalidArgument("a JetStream store name is 1-64 characters of A-Z, a-z, 0-9, '-' and '_'; got \(store.debugDescription)")
        }
        self.nats = nats
        self.streamName = "STRATA_\(store)"
        self.subjectPrefix = "strata.\(store)"
        self.indexStreamName = "STRATAIX_\(store)"
        self.indexSubjectPrefix = "strataix.\(store)"
    }

    /// Creates a configuration from server URLs.
    public init(urls: [String], store: String) throws {
        do {
            try self.init(nats: NATSConfiguration(urls: urls), store: store)
        } catch let e as NATSError {
            throw StrataError.invalidArgument(e.description)
        }
    }
}
