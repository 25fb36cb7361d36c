import NIOCore

/// A JetStream stream's configuration (the subset this client sets; the server fills the rest).
public struct JetStreamStreamConfig: Codable, Sendable, Hashable {
    /// The stream's name (no spaces, `.`, `*`, `>`).
    public var name: String
    /// The subjects it captures.
    public var subjects: [String]
    /// `file` or `memory`.
    public var storage: String = "file"
    /// Replicas in a cluster (1–5).
    public var numReplicas: Int = 1
    /// `limits`, `interest` or `workqueue`.
    public var retention: String = "limits"
    /// Limits (-1: none).
    public var maxMsgs: Int64 = -1
    /// Bytes limit (-1: none).
    public var maxBytes: Int64 = -1
    /// Message size limit (-1: the server's `max_payload`).
    public var maxMsgSize: Int32 = -1
    /// Age limit in nanoseconds (0: none).
    public var maxAge: Int64 = 0
    /// `old` or `new`.
    public var discard: String = "old"
    /// The `Nats-Msg-Id` deduplication window in nanoseconds (0: the server default, 2 minutes).
    public var duplicateWindow: Int64 = 0
    /// Whether messages may not be deleted.
    public var denyDelete: Bool? = nil
    /// Whether the stream may not be purged.
    public var denyPurge: Bool? = nil
    /// Whether direct gets are allowed on every replica.
    public var allowDirect: Bool? = nil
    /// The most messages kept per subject (-1 or nil: no limit; 1 makes a key-value stream).
    public var maxMsgsPerSubject: Int64? = nil

    /// Creates a configuration.
    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }

    enum CodingKeys: String, CodingKey {
        case name, subjects, storage, retention, discard
        case numReplicas = "num_replicas", maxMsgs = "max_msgs", maxBytes = "max_bytes", maxMsgSize = "max_msg_size"
        case maxAge = "max_age", duplicateWindow = "duplicate_window", denyDelete = "deny_delete", denyPurge = "deny_purge"
        case allowDirect = "allow_direct", maxMsgsPerSubject = "max_msgs_per_subject"
    }
}

/// A stream's state.
public struct JetStreamStreamState: Codable, Sendable, Hashable {
    /// Messages stored.
    public var messages: UInt64
    /// Bytes stored.
    public var bytes: UInt64
    /// The first stored sequence.
    public var firstSeq: UInt64
    /// The last stored sequence (0 when nothing was ever stored).
    public var lastSeq: UInt64

    enum CodingKeys: String, CodingKey {
        case messages, bytes, firstSeq = "first_seq", lastSeq = "last_seq"
    }
}

/// A stream's cluster placement.
public struct JetStreamClusterInfo: Codable, Sendable, Hashable {
    /// The leader's server name.
    public var leader: String?
    /// The cluster's name.
    public var name: String?
}

/// `STREAM.INFO` / `STREAM.CREATE` answers.
public struct JetStreamStreamInfo: Codable, Sendable, Hashable {
    /// The stream's configuration as the server holds it.
    public var config: JetStreamStreamConfig
    /// Its state.
    public var state: JetStreamStreamState
    /// Its placement, in a cluster.
    public var cluster: JetStreamClusterInfo?
    /// When the server created it (RFC 3339, nanoseconds), as the server reports it.
    public var created: String?
}

/// The acknowledgement of a JetStream publish.
public struct JetStreamPubAck: Codable, Sendable, Hashable {
    /// The stream that stored it.
    public var stream: String
    /// Its sequence in the stream.
    public var seq: UInt64
    /// Whether it was a duplicate (same `Nats-Msg-Id` within the window): `seq` is the original's.
    public var duplicate: Bool?
}

/// Conditions and identity of a JetStream publish, sent as headers.
public struct JetStreamPublishOptions: Sendable, Hashable {
    /// `Nats-Msg-Id`: a retry with the same id inside the duplicate window is stored once.
    public var messageID: String?
    /// `Nats-Expected-Last-Sequence`: stored only when the stream's last sequence is this.
    public var expectedLastSequence: UInt64?
    /// `Nats-Expected-Last-Subject-Sequence`: stored only when the subject's last message has this sequence (0: none).
    public var expectedLastSubjectSequence: UInt64?
    /// `Nats-Expected-Stream`: stored only by this stream.
    public var expectedStream: String?

    /// Creates options; every one is optional.
    public init(messageID: String? = nil, expectedLastSequence: UInt64? = nil, expectedLastSubjectSequence: UInt64? = nil,
                expectedStream: String? = nil) {
        self.messageID = messageID
        self.expectedLastSequence = expectedLastSequence
        self.expectedLastSubjectSequence = expectedLastSubjectSequence
        self.expectedStream = expectedStream
    }

    func apply(to headers: inout NATSHeaders) {
        if let messageID { headers["Nats-Msg-Id"] = messageID }
        if let expectedLastSequence { headers["Nats-Expected-Last-Sequence"] = String(expectedLastSequence) }
        if let expectedLastSubjectSequence { headers["Nats-Expected-Last-Subject-Sequence"] = String(expectedLastSubjectSequence) }
        if let expectedStream { headers["Nats-Expected-Stream"] = expectedStream }
    }
}

/// A message read from a stream (`STREAM.MSG.GET`) or delivered by a consumer.
public struct JetStreamMessage: Sendable {
    /// The subject it was stored under.
    public var subject: String
    /// Its stream sequence.
    public var streamSequence: UInt64
    /// Its consumer sequence (0 for a direct get).
    public var consumerSequence: UInt64
    /// Its headers, if any.
    public var headers: NATSHeaders?
    /// Its payload.
    public var payload: ByteBuffer
    /// The subject to acknowledge to (pull consumers).
    public var ackSubject: String?
    /// Messages still pending for the consumer after this one.
    public var pending: UInt64
    /// When the server stored it, in nanoseconds since 1970 (from the delivery's reply subject;
    /// nil for a direct get).
    public var timestampNanoseconds: Int64? = nil

    /// The payload's bytes.
    public var bytes: [UInt8] { Array(payload.readableBytesView) }
}

/// The parts of a `$JS.ACK.…` reply subject: v1 `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
/// and v2 `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>[.<token>]`.
struct AckSubject {
    var streamSequence: UInt64
    var consumerSequence: UInt64
    var pending: UInt64
    var timestamp: Int64?

    init?(_ subject: String) {
        let t = subject.split(separator: ".", omittingEmptySubsequences: false)
        guard t.count >= 9, t[0] == "$JS", t[1] == "ACK" else { return nil }
        let base = t.count == 9 ? 5 : 7
        guard t.count > base + 3, let s = UInt64(t[base]), let d = UInt64(t[base + 1]), let p = UInt64(t[base + 3]) else { return nil }
        streamSequence = s
        consumerSequence = d
        pending = p
        timestamp = Int64(t[base + 2])
    }
}
