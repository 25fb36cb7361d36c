import Foundation
import Synchronization
import NIOCore
import StrataJSON

/// An ordered consumer (see ``JetStream/orderedConsumer(stream:filterSubject:startSequence:idleHeartbeat:)``):
/// an ephemeral push consumer with flow control and idle heartbeats, no acknowledgements, in
/// memory on one replica. It checks the consumer sequence of every message and heartbeat; on a
/// gap, a missed heartbeat (three intervals of silence), a slow-consumer overflow or a lost
/// consumer it deletes the consumer and creates a new one from the next stream sequence it
/// has not delivered, so the caller sees every message once, in stream order.
///
/// Iterate it from one task; cancelling that task ends the iteration (`nil`).
public final class OrderedConsumer: AsyncSequence, Sendable {
    public typealias Element = JetStreamMessage

    let js: JetStream
    /// The stream.
    public let stream: String
    /// The subject filter, if any.
    public let filterSubject: String?
    let idleHeartbeat: Duration
    /// The cursor and the server-side consumer. One task iterates, but ``stop()``, ``cursor``
    /// and ``resets`` may come from others: the lock orders them (it is never held across an await).
    private struct State {
        var nextSequence: UInt64
        var lastConsumerSequence: UInt64 = 0
        var subscription: NATSSubscription?
        var consumerName: String?
        var resets = 0
        var stopped = false
    }
    private let state: Mutex<State>
    /// How many times the consumer was recreated (gaps, missed heartbeats, overflows, failures).
    public var resets: Int { state.withLock { $0.resets } }

    init(js: JetStream, stream: String, filterSubject: String?, startSequence: UInt64, idleHeartbeat: Duration) {
        self.js = js
        self.stream = stream
        self.filterSubject = filterSubject
        self.state = Mutex(State(nextSequence: Swift.max(1, startSequence)))
        self.idleHeartbeat = idleHeartbeat
    }

    /// The next stream sequence the consumer will deliver.
    public var cursor: UInt64 { state.withLock { $0.nextSequence } }

    public func makeAsyncIterator() -> Iterator { Iterator(consumer: self) }

    /// The iterator.
    public struct Iterator: AsyncIteratorProtocol {
        let consumer: OrderedConsumer
        /// The next message in stream order; `nil` when the task is cancelled.
        public mutating func next() async throws -> JetStreamMessage? { try await consumer.next() }
    }

    /// Stops: unsubscribes and deletes the server-side consumer; the iteration then ends (`nil`).
    public func stop() async {
        state.withLock { $0.stopped = true }
        await dropConsumer()
    }

    private struct Config: Encodable {
        var deliver_subject: String
        var deliver_policy = "by_start_sequence"
        var opt_start_seq: UInt64
        var ack_policy = "none"
        var max_deliver = 1
        var replay_policy = "instant"
        var flow_control = true
        var idle_heartbeat: Int64
        var mem_storage = true
        var num_replicas = 1
        var inactive_threshold: Int64
        var filter_subject: String?
        var headers_only = false
    }

    private struct Create: Encodable { var stream_name: String; var config: Config }
    private struct Answer: Decodable { var name: String }

    private func dropConsumer() async {
        let (subscription, consumerName) = state.withLock { s in
            defer { s.subscription = nil; s.consumerName = nil }
            return (s.subscription, s.consumerName)
        }
        if let s = subscription { await s.unsubscribe() }
        if let name = consumerName {
            let js = self.js, stream = self.stream
            // Best effort and in the background: the server also removes it when inactive.
            Task { try? await js.deleteConsumer(stream: stream, name: name) }
        }
    }

    private func create() async throws {
        await dropConsumer()
        let inbox = js.connection.newInbox()
        let sub = try await js.connection.subscribe(to: inbox)
        let config = Config(deliver_subject: inbox, opt_start_seq: state.withLock { $0.nextSequence }, idle_heartbeat: idleHeartbeat.nanoseconds,
                            inactive_threshold: (idleHeartbeat * 15).nanoseconds, filter_subject: filterSubject)
        do {
            let answer = try await js.api("CONSUMER.CREATE.\(stream)", Create(stream_name: stream, config: config), as: Answer.self)
            let stopped = state.withLock { s -> Bool in
                if s.stopped { return true }
                s.subscription = sub
                s.consumerName = answer.name
                s.lastConsumerSequence = 0
                return false
            }
            if stopped {
                // stop() came while the consumer was being created: drop it at once.
                await sub.unsubscribe()
                let js = self.js, stream = self.stream
                Task { try? await js.deleteConsumer(stream: stream, name: answer.name) }
            }
        } catch {
            await sub.unsubscribe()
            throw error
        }
    }

    private func reset() async {
        state.withLock { $0.resets += 1 }
        await dropConsumer()
    }

    private func next() async throws -> JetStreamMessage? {
        var backoff = Duration.milliseconds(20)
        while !Task.isCancelled {
            let (current, stopped) = state.withLock { ($0.subscription, $0.stopped) }
            if stopped { return nil }
            guard let sub = current else {
                do {
                    try await create()
                    backoff = .milliseconds(20)
                } catch NATSError.jetStream(_, let code, let d) where code == NATSError.streamNotFoundCode {
                    throw NATSError.jetStream(code: 404, errorCode: code, description: d)
                } catch NATSError.closed {
                    throw NATSError.closed
                } catch {
                    // The cluster may be electing a leader or the connection reconnecting.
                    try? await Task.sleep(for: backoff)
                    backoff = Swift.min(backoff * 2, .seconds(1))
                }
                continue
            }
            let message: NATSMessage?
            do {
                message = try await sub.next(timeout: idleHeartbeat * 3)
            } catch NATSError.slowConsumer {
                await reset()
                continue
            }
            guard let m = message else {
                if Task.isCancelled || state.withLock({ $0.stopped }) { return nil }
                if sub.isFinished && !js.connection.isConnected && isClosed { throw NATSError.closed }
                await reset()   // a missed heartbeat or an ended subscription
                continue
            }
            if m.status == 100 {
                if let reply = m.replyTo, !reply.isEmpty {   // flow control
                    try? await js.connection.publish(reply, payload: [UInt8]())
                }
                if let stalled = m.headers?["Nats-Consumer-Stalled"] {
                    try? await js.connection.publish(stalled, payload: [UInt8]())
                }
                if let last = m.headers?["Nats-Last-Consumer"].flatMap(UInt64.init), last != state.withLock({ $0.lastConsumerSequence }) {
                    await reset()
                }
                continue
            }
            if m.status != nil { await reset(); continue }
            guard let reply = m.replyTo, let ack = AckSubject(reply) else { continue }
            let inOrder = state.withLock { s -> Bool in
                guard ack.consumerSequence == s.lastConsumerSequence + 1 && ack.streamSequence >= s.nextSequence else { return false }
                s.lastConsumerSequence = ack.consumerSequence
                s.nextSequence = ack.streamSequence + 1
                return true
            }
            if !inOrder {
                await reset()
                continue
            }
            return JetStreamMessage(subject: m.subject, streamSequence: ack.streamSequence, consumerSequence: ack.consumerSequence,
                                    headers: m.headers, payload: m.payload, ackSubject: nil, pending: ack.pending,
                                    timestampNanoseconds: ack.timestamp)
        }
        return nil
    }

    private var isClosed: Bool {
        (try? js.connection.checkOpen()) == nil
    }
}

/// A durable pull consumer with explicit acknowledgements (see
/// ``JetStream/pullConsumer(stream:durable:filterSubject:ackWait:)``).
public struct PullConsumer: Sendable {
    let js: JetStream
    /// The stream.
    public let stream: String
    /// The consumer's name.
    public let name: String

    private struct Next: Encodable { var batch: Int; var expires: Int64 }

    /// Fetches up to `batch` messages, waiting at most `expires` for them to arrive.
    /// Acknowledge each with ``ack(_:)``; unacknowledged ones are redelivered after `ackWait`.
    public func fetch(batch: Int, expires: Duration = .seconds(1)) async throws -> [JetStreamMessage] {
        guard batch > 0 else { return [] }
        let inbox = js.connection.newInbox()
        let sub = try await js.connection.subscribe(to: inbox)
        defer { Task { await sub.unsubscribe() } }
        let body = try StrataJSONEncoder().encode(Next(batch: batch, expires: expires.nanoseconds))
        try await js.connection.publish("\(js.apiPrefix).CONSUMER.MSG.NEXT.\(stream).\(name)", payload: body, replyTo: inbox)
        var out: [JetStreamMessage] = []
        let deadline = ContinuousClock.now + expires + .milliseconds(500)
        while out.count < batch {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            guard let m = try await sub.next(timeout: left) else { break }
            if let status = m.status {
                if status == 100 { continue }
                break   // 404 no messages, 408 request expired, 409 consumer changed
            }
            guard let reply = m.replyTo, let ack = AckSubject(reply) else { continue }
            out.append(JetStreamMessage(subject: m.subject, streamSequence: ack.streamSequence, consumerSequence: ack.consumerSequence,
                                        headers: m.headers, payload: m.payload, ackSubject: reply, pending: ack.pending,
                                        timestampNanoseconds: ack.timestamp))
        }
        return out
    }

    /// Acknowledges a fetched message and waits for the server to confirm it.
    public func ack(_ message: JetStreamMessage) async throws {
        guard let subject = message.ackSubject else { throw NATSError.invalidArgument("the message was not delivered by a pull consumer") }
        _ = try await js.connection.request(subject, payload: Array("+ACK".utf8), timeout: js.timeout)
    }

    /// Tells the server to redeliver a fetched message now.
    public func nak(_ message: JetStreamMessage) async throws {
        guard let subject = message.ackSubject else { throw NATSError.invalidArgument("the message was not delivered by a pull consumer") }
        try await js.connection.publish(subject, payload: Array("-NAK".utf8))
    }

    /// The consumer's number of messages not yet delivered and delivered but unacknowledged.
    public func pendingCounts() async throws -> (pending: UInt64, unacknowledged: UInt64) {
        struct Info: Decodable { var num_pending: UInt64; var num_ack_pending: UInt64 }
        struct Empty: Encodable {}
        let info = try await js.api("CONSUMER.INFO.\(stream).\(name)", Empty(), as: Info.self)
        return (info.num_pending, info.num_ack_pending)
    }
}
