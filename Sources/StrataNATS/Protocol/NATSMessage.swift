import NIOCore

/// A message the server delivered (`MSG` or `HMSG`).
public struct NATSMessage: Sendable {
    /// The subject it was published to.
    public var subject: String
    /// The subscription id it was delivered for.
    public var sid: UInt64
    /// The reply subject, if the publisher gave one.
    public var replyTo: String?
    /// The headers (`HMSG` only).
    public var headers: NATSHeaders?
    /// The payload.
    public var payload: ByteBuffer

    /// Creates a message.
    public init(subject: String, sid: UInt64, replyTo: String?, headers: NATSHeaders?, payload: ByteBuffer) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.headers = headers
        self.payload = payload
    }

    /// The payload's bytes.
    public var bytes: [UInt8] { Array(payload.readableBytesView) }

    /// The status code of a status message (`503` no responders, `100` heartbeat or flow control …).
    public var status: Int? { headers?.status }
}
