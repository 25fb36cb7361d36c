import Foundation
import NIOCore
import StrataJSON

/// JetStream over a ``NATSConnection``: every call is a request to `$JS.API.…`.
///
/// ```swift
/// let js = JetStream(connection: nats)
/// _ = try await js.createStream(JetStreamStreamConfig(name: "ORDERS", subjects: ["orders.>"]))
/// let ack = try await js.publish("orders.1", payload: Array("{}".utf8),
///                                options: JetStreamPublishOptions(messageID: "order-1"))
/// ```
public struct JetStream: Sendable {
    /// The connection.
    public let connection: NATSConnection
    /// The API prefix (`$JS.API`).
    public let apiPrefix: String
    /// How long an API call waits.
    public var timeout: Duration

    /// Creates a JetStream context.
    public init(connection: NATSConnection, apiPrefix: String = "$JS.API", timeout: Duration = .seconds(5)) {
        self.connection = connection
        self.apiPrefix = apiPrefix
        self.timeout = timeout
    }

    private struct APIErrorBody: Decodable {
        var code: Int
        var err_code: Int?
        var description: String?
    }

    private struct Envelope: Decodable { var error: APIErrorBody? }

    /// Decodes an API answer, throwing its `error` as ``NATSError/jetStream(code:errorCode:description:)``.
    static func decode<T: Decodable>(_ type: T.Type, from message: NATSMessage) throws -> T {
        let data = Data(message.payload.readableBytesView)
        if let status = message.status, status >= 400 {
            throw NATSError.jetStream(code: status, errorCode: 0, description: message.headers?.statusDescription ?? "")
        }
        let decoder = StrataJSONDecoder()
        // Only an answer that mentions "error" can be one: skip the second decode otherwise.
        if data.range(of: Data(#""error""#.utf8)) != nil, let e = try? decoder.decode(Envelope.self, from: data).error {
            throw NATSError.jetStream(code: e.code, errorCode: e.err_code ?? 0, description: e.description ?? "")
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw NATSError.protocolViolation("unexpected JetStream answer \(String(decoding: data.prefix(300), as: UTF8.self)): \(error)")
        }
    }

    func api<T: Decodable>(_ path: String, _ body: some Encodable, as type: T.Type) async throws -> T {
        let payload = try StrataJSONEncoder().encode(body)
        let reply = try await connection.request("\(apiPrefix).\(path)", payload: payload, timeout: timeout)
        return try Self.decode(type, from: reply)
    }

    private struct Empty: Codable {}

    // MARK: - Streams

    /// Creates a stream (an existing stream with the same configuration is returned as is).
    public func createStream(_ config: JetStreamStreamConfig) async throws -> JetStreamStreamInfo {
        try await api("STREAM.CREATE.\(config.name)", config, as: JetStreamStreamInfo.self)
    }

    /// Updates a stream's configuration.
    public func updateStream(_ config: JetStreamStreamConfig) async throws -> JetStreamStreamInfo {
        try await api("STREAM.UPDATE.\(config.name)", config, as: JetStreamStreamInfo.self)
    }

    /// A stream's configuration and state.
    /// - Throws: ``NATSError/jetStream(code:errorCode:description:)`` with err_code 10059 when it does not exist.
    public func streamInfo(_ name: String) async throws -> JetStreamStreamInfo {
        try await api("STREAM.INFO.\(name)", Empty(), as: JetStreamStreamInfo.self)
    }

    /// Deletes a stream and its messages.
    public func deleteStream(_ name: String) async throws {
        struct Answer: Decodable { var success: Bool }
        _ = try await api("STREAM.DELETE.\(name)", Empty(), as: Answer.self)
    }

    // MARK: - Publishing

    /// Publishes to a stream's subject and waits for the stream's acknowledgement.
    /// - Throws: ``NATSError/jetStream(code:errorCode:description:)`` when a condition fails
    ///   (err_code 10071 for a wrong last sequence), ``NATSError/noResponders(subject:)`` when no
    ///   stream captures the subject.
    public func publish(_ subject: String, payload: some Collection<UInt8>, headers: NATSHeaders? = nil,
                        options: JetStreamPublishOptions = JetStreamPublishOptions()) async throws -> JetStreamPubAck {
        var h = headers ?? NATSHeaders()
        options.apply(to: &h)
        let reply = try await connection.request(subject, payload: payload, headers: h.isEmpty ? nil : h, timeout: timeout)
        return try Self.decode(JetStreamPubAck.self, from: reply)
    }

    // MARK: - Reading messages

    private struct StoredMessage: Decodable {
        var subject: String
        var seq: UInt64
        var hdrs: String?
        var data: String?
    }

    private struct GetAnswer: Decodable { var message: StoredMessage }

    private struct GetRequest: Encodable {
        var seq: UInt64?
        var last_by_subj: String?
    }

    private func get(_ stream: String, _ request: GetRequest) async throws -> JetStreamMessage? {
        do {
            let m = try await api("STREAM.MSG.GET.\(stream)", request, as: GetAnswer.self).message
            var headers: NATSHeaders?
            if let h = m.hdrs, let bytes = Data(base64Encoded: h), !bytes.isEmpty {
                headers = try NATSHeaders.parse(ByteBuffer(bytes: bytes).readableBytesView)
            }
            let data = m.data.flatMap { Data(base64Encoded: $0) } ?? Data()
            return JetStreamMessage(subject: m.subject, streamSequence: m.seq, consumerSequence: 0, headers: headers,
                                    payload: ByteBuffer(bytes: data), ackSubject: nil, pending: 0)
        } catch NATSError.jetStream(_, let code, _) where code == NATSError.noMessageFoundCode {
            return nil
        }
    }

    /// The message at a stream sequence, or `nil` when there is none (deleted or not yet written).
    public func getMessage(stream: String, sequence: UInt64) async throws -> JetStreamMessage? {
        try await get(stream, GetRequest(seq: sequence))
    }

    /// The last message stored under a subject, or `nil` when there is none.
    public func getLastMessage(stream: String, subject: String) async throws -> JetStreamMessage? {
        try await get(stream, GetRequest(last_by_subj: subject))
    }

    // MARK: - Consumers

    /// An ordered consumer: an ephemeral push consumer that delivers the stream's messages in
    /// order from `startSequence`, recreated transparently on a gap, a missed heartbeat or a
    /// slow-consumer overflow.
    public func orderedConsumer(stream: String, filterSubject: String? = nil, startSequence: UInt64 = 1,
                                idleHeartbeat: Duration = .seconds(2)) -> OrderedConsumer {
        OrderedConsumer(js: self, stream: stream, filterSubject: filterSubject, startSequence: startSequence, idleHeartbeat: idleHeartbeat)
    }

    /// Creates (or finds) a durable pull consumer with explicit acknowledgements.
    /// - Parameters:
    ///   - ackWait: how long a fetched message stays unacknowledged before it is redelivered.
    public func pullConsumer(stream: String, durable: String, filterSubject: String? = nil,
                             ackWait: Duration = .seconds(30)) async throws -> PullConsumer {
        struct Config: Encodable {
            var durable_name: String
            var deliver_policy = "all"
            var ack_policy = "explicit"
            var ack_wait: Int64
            var filter_subject: String?
            var replay_policy = "instant"
        }
        struct Create: Encodable { var stream_name: String; var config: Config }
        struct Answer: Decodable { var name: String }
        let ns = ackWait.components.seconds * 1_000_000_000 + ackWait.components.attoseconds / 1_000_000_000
        let answer = try await api("CONSUMER.DURABLE.CREATE.\(stream).\(durable)",
                                   Create(stream_name: stream, config: Config(durable_name: durable, ack_wait: ns, filter_subject: filterSubject)),
                                   as: Answer.self)
        return PullConsumer(js: self, stream: stream, name: answer.name)
    }

    /// Deletes a consumer.
    public func deleteConsumer(stream: String, name: String) async throws {
        struct Answer: Decodable { var success: Bool }
        _ = try await api("CONSUMER.DELETE.\(stream).\(name)", Empty(), as: Answer.self)
    }
}

extension Duration {
    /// Whole nanoseconds, for JetStream's duration fields.
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
