import Foundation
import Strata

/// What a persistent subscription reads: one stream, or `$all` (docs/CONSUMERS.md,
/// "Persistent subscriptions").
public enum PersistentSubscriptionSource: Sendable, Hashable, CustomStringConvertible {
    /// One stream, in revision order; its checkpoint is a revision.
    case stream(String)
    /// `$all`, in position order, optionally filtered; its checkpoint is a position.
    case all(EventFilter)

    /// `$all` or the stream's name.
    public var description: String {
        switch self {
        case .stream(let name): name
        case .all: "$all"
        }
    }
}

/// A persistent subscription's name: its source and group. Several groups may read one source.
public struct PersistentSubscriptionName: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    /// The stream read, or `$all`.
    public var stream: String
    /// The group's name.
    public var group: String

    /// Creates a name.
    public init(stream: String, group: String) {
        self.stream = stream
        self.group = group
    }

    /// `<stream>::<group>`, KurrentDB's spelling (and the checkpoint store's consumer name).
    public var description: String { "\(stream)::\(group)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.stream, lhs.group) < (rhs.stream, rhs.group) }
}

/// How a persistent subscription hands out events, KurrentDB's settings with its defaults.
public struct PersistentSubscriptionSettings: Sendable, Hashable, Codable {
    /// Where a new group starts: the first event, the end (only events appended after its
    /// creation), or after a revision (stream) or position (`$all`). In JSON: `"start"`,
    /// `"end"`, or the number.
    public enum StartFrom: Sendable, Hashable, Codable {
        /// From the first event.
        case start
        /// From the events appended after the group is created.
        case end
        /// After this revision (a stream) or position (`$all`).
        case after(UInt64)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(UInt64.self) {
                self = .after(number)
            } else {
                switch try container.decode(String.self) {
                case "start": self = .start
                case "end": self = .end
                case let other:
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "startFrom must be \"start\", \"end\" or a number, not \"\(other)\"")
                }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .start: try container.encode("start")
            case .end: try container.encode("end")
            case .after(let key): try container.encode(key)
            }
        }
    }

    /// Which consumer gets which event.
    public enum ConsumerStrategy: String, Sendable, Hashable, Codable, CaseIterable {
        /// Each event to the next consumer that asks.
        case roundRobin = "RoundRobin"
        /// Every event to one consumer (the first connected); the others take over when it goes.
        case dispatchToSingle = "DispatchToSingle"
        /// The events of a stream to one consumer, chosen by a hash of the stream's name among
        /// the connected consumers.
        case pinned = "Pinned"
    }

    /// Where a new group starts (default: the start).
    public var startFrom: StartFrom = .start
    /// How long a consumer has to ack or nack an event before it is retried (default 30 s).
    public var messageTimeoutMilliseconds: Int = 30_000
    /// How many times an event is retried (nacked with retry, or timed out) before it is parked (default 10).
    public var maxRetryCount: Int = 10
    /// How many events one read of the store fetches (default 20).
    public var readBatchSize: Int = 20
    /// The most events held at once: read ahead, in flight and waiting for a retry (default 500).
    public var bufferSize: Int = 500
    /// The most consumers connected at once; 0: no limit (default).
    public var maxSubscriberCount: Int = 0
    /// Which consumer gets which event (default round robin).
    public var consumerStrategy: ConsumerStrategy = .roundRobin
    /// The checkpoint is saved this long after an event completes, at the latest (default 2 s).
    public var checkpointAfterMilliseconds: Int = 2_000
    /// The checkpoint is saved once this many events completed since the last save (default 10)…
    public var minCheckpointCount: Int = 10
    /// …and at once when this many did (default 1,000).
    public var maxCheckpointCount: Int = 1_000

    /// The default settings.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case startFrom, messageTimeoutMilliseconds, maxRetryCount, readBatchSize, bufferSize, maxSubscriberCount
        case consumerStrategy, checkpointAfterMilliseconds, minCheckpointCount, maxCheckpointCount
    }

    /// Decodes settings; a missing field keeps its default (so a request may give only some).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PersistentSubscriptionSettings()
        startFrom = try c.decodeIfPresent(StartFrom.self, forKey: .startFrom) ?? d.startFrom
        messageTimeoutMilliseconds = try c.decodeIfPresent(Int.self, forKey: .messageTimeoutMilliseconds) ?? d.messageTimeoutMilliseconds
        maxRetryCount = try c.decodeIfPresent(Int.self, forKey: .maxRetryCount) ?? d.maxRetryCount
        readBatchSize = try c.decodeIfPresent(Int.self, forKey: .readBatchSize) ?? d.readBatchSize
        bufferSize = try c.decodeIfPresent(Int.self, forKey: .bufferSize) ?? d.bufferSize
        maxSubscriberCount = try c.decodeIfPresent(Int.self, forKey: .maxSubscriberCount) ?? d.maxSubscriberCount
        consumerStrategy = try c.decodeIfPresent(ConsumerStrategy.self, forKey: .consumerStrategy) ?? d.consumerStrategy
        checkpointAfterMilliseconds = try c.decodeIfPresent(Int.self, forKey: .checkpointAfterMilliseconds) ?? d.checkpointAfterMilliseconds
        minCheckpointCount = try c.decodeIfPresent(Int.self, forKey: .minCheckpointCount) ?? d.minCheckpointCount
        maxCheckpointCount = try c.decodeIfPresent(Int.self, forKey: .maxCheckpointCount) ?? d.maxCheckpointCount
    }

    /// Checks the settings.
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming the first bad setting.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw StrataError.invalidArgument("persistent subscription settings: \(what)") } }
        if case .after(let key) = startFrom {
            // The group reads from key + 1: a key at the top of UInt64 would overflow.
            try check(key <= UInt64(Int64.max), "startFrom must be at most \(Int64.max)")
        }
        try check(messageTimeoutMilliseconds >= 1, "messageTimeoutMilliseconds must be at least 1")
        try check((0 ... 1_000).contains(maxRetryCount), "maxRetryCount must be 0…1000")
        try check((1 ... 10_000).contains(readBatchSize), "readBatchSize must be 1…10000")
        try check(bufferSize >= readBatchSize && bufferSize <= 100_000, "bufferSize must be readBatchSize…100000")
        try check(maxSubscriberCount >= 0, "maxSubscriberCount must be 0 (no limit) or more")
        try check(checkpointAfterMilliseconds >= 0, "checkpointAfterMilliseconds must be 0 or more")
        try check(minCheckpointCount >= 1 && maxCheckpointCount >= minCheckpointCount, "minCheckpointCount must be at least 1 and at most maxCheckpointCount")
    }
}

/// An event handed to a consumer, with how many times it was handed out before.
public struct PersistentSubscriptionMessage: Sendable {
    /// The event.
    public var event: RecordedEvent
    /// 0 the first time; one more at each retry.
    public var retryCount: Int
}

/// What to do with an event a consumer could not handle (KurrentDB's nack actions).
public enum PersistentSubscriptionNackAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Park it now (replay it later with `replayParked`).
    case park
    /// Hand it out again (parked after `maxRetryCount` retries).
    case retry
    /// Drop it: it counts as handled.
    case skip
    /// Hand it out again, and disconnect the consumer.
    case stop
}

/// Why a persistent subscription operation was refused.
public enum PersistentSubscriptionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No group of that name.
    case notFound(PersistentSubscriptionName)
    /// A group of that name exists already.
    case alreadyExists(PersistentSubscriptionName)
    /// The group has its `maxSubscriberCount` consumers connected.
    case maximumSubscribersReached(PersistentSubscriptionName)
    /// Another server instance runs the group now; `owner` is its name (its URL when it
    /// advertises one).
    case ownedElsewhere(PersistentSubscriptionName, owner: String)

    public var description: String {
        switch self {
        case .notFound(let name): "persistent subscription \(name) does not exist"
        case .alreadyExists(let name): "persistent subscription \(name) exists already"
        case .maximumSubscribersReached(let name): "persistent subscription \(name) has its maximum number of consumers"
        case .ownedElsewhere(let name, let owner): "persistent subscription \(name) is served by \(owner)"
        }
    }
}

/// A persistent subscription's state and counters (the admin page, `/metrics`, `info`).
public struct PersistentSubscriptionStats: Sendable, Hashable, Codable {
    /// One connected consumer.
    public struct Connection: Sendable, Hashable, Codable {
        /// The consumer's name.
        public var consumer: String
        /// Events it holds, not yet acked or nacked.
        public var inFlight: Int
        /// Events it acked.
        public var acked: UInt64
        /// Events it nacked.
        public var nacked: UInt64
        /// When it last asked for events, in microseconds since 1970.
        public var lastSeenMicroseconds: Int64
    }

    /// The group's name.
    public var name: PersistentSubscriptionName
    /// Its settings.
    public var settings: PersistentSubscriptionSettings
    /// `live` once it has read up to the end of its source, `catchingUp` before.
    public var status: String
    /// The saved checkpoint: every event up to it is done (acked, skipped or parked).
    public var lastCheckpoint: UInt64?
    /// The last revision (stream) or position (`$all`) read from the store.
    public var lastKnownEvent: UInt64
    /// Events read and not yet handed out.
    public var readBufferCount: Int
    /// Events waiting to be handed out again.
    public var retryBufferCount: Int
    /// Events handed out and not yet acked or nacked.
    public var inFlightCount: Int
    /// Events acked since the group started on this instance.
    public var totalAcked: UInt64
    /// Events nacked since then.
    public var totalNacked: UInt64
    /// Events whose timeout passed since then.
    public var totalTimedOut: UInt64
    /// Events parked now.
    public var parkedCount: Int
    /// The connected consumers, by name.
    public var connections: [Connection]
}
