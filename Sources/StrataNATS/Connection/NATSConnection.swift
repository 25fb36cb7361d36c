import Logging
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import StrataJSON

/// What the server said about itself in `INFO`.
public struct NATSServerInfo: Sendable, Decodable {
    /// The server's id.
    public var serverID: String?
    /// The server's version.
    public var version: String?
    /// The largest payload (headers included) the server accepts.
    public var maxPayload: Int?
    /// Whether the server supports headers.
    public var headers: Bool?
    /// Whether the server requires TLS.
    public var tlsRequired: Bool?
    /// Other servers of the cluster clients may connect to.
    public var connectURLs: [String]?
    /// Whether JetStream is enabled.
    public var jetStream: Bool?
    /// The challenge an NKEY or JWT user signs (sent by servers with such users).
    public var nonce: String?

    enum CodingKeys: String, CodingKey {
        case serverID = "server_id", version, maxPayload = "max_payload", headers, tlsRequired = "tls_required"
        case connectURLs = "connect_urls", jetStream = "jetstream", nonce
    }
}

/// A connection to a NATS server or cluster: publish, subscribe, request/reply over one shared
/// inbox subscription, and reconnection with backoff across the cluster's servers (subscriptions
/// are re-established after a reconnect; messages sent while disconnected may be lost, as in
/// core NATS). Thread-safe; share one connection.
///
/// ```swift
/// let nats = try await NATSConnection.connect(NATSConfiguration(urls: ["nats://127.0.0.1:4222"]))
/// let reply = try await nats.request("service.time", payload: [])
/// try await nats.close()
/// ```
public final class NATSConnection: Sendable {
    /// The settings the connection was made with.
    public let configuration: NATSConfiguration
    let group: any EventLoopGroup

    private struct Subscriber {
        let subject: String
        let queue: String?
        let buffer: SubscriptionBuffer
    }

    private struct State {
        var channel: (any Channel)?
        var generation = 0
        var closed = false
        var info: NATSServerInfo?
        var servers: [NATSServerAddress]
        var lastServer = 0
        var subscribers: [UInt64: Subscriber] = [:]
        var nextSID: UInt64 = 1
        var requests: [UInt64: CheckedContinuation<NATSMessage, any Error>] = [:]
        var nextRequest: UInt64 = 1
        var pongs: [CheckedContinuation<Void, any Error>] = []
        var connectWaiters: [UInt64: CheckedContinuation<any Channel, any Error>] = [:]
        var nextWaiter: UInt64 = 1
        var reconnects = 0
        var outstandingPings = 0
        var failure: NATSError?
    }

    private let state: Mutex<State>
    private let inboxPrefix: String
    /// The key of an NKEY or JWT user, decoded once: it signs each server's nonce.
    private let signingKey: NKey?
    private static let inboxSID: UInt64 = 0

    private init(configuration: NATSConfiguration, signingKey: NKey?, group: any EventLoopGroup) {
        self.configuration = configuration
        self.signingKey = signingKey
        self.group = group
        self.state = Mutex(State(servers: configuration.servers))
        self.inboxPrefix = "_INBOX." + NATSConnection.randomToken()
    }

    /// Connects to the first reachable server of the configuration.
    /// - Throws: ``NATSError/connectionFailed(_:)`` when none answers,
    ///   ``NATSError/authorizationFailed(_:)`` when the credentials are refused,
    ///   ``NATSError/invalidCredentials(_:)`` (before any server is tried) for an NKEY seed that
    ///   does not decode.
    public static func connect(_ configuration: NATSConfiguration,
                               group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> NATSConnection {
        guard !configuration.servers.isEmpty else { throw NATSError.invalidArgument("no NATS server given") }
        let key = try configuration.authentication.signingKey()
        let connection = NATSConnection(configuration: configuration, signingKey: key, group: group)
        var lastError = NATSError.connectionFailed("no server tried")
        for (i, server) in configuration.servers.enumerated() {
            do {
                try await connection.establish(server, index: i)
                connection.startPinging()
                return connection
            } catch let e as NATSError {
                if case .authorizationFailed = e { throw e }
                if case .invalidCredentials = e { throw e }
                lastError = e
            }
        }
        if case .connectionFailed = lastError { throw lastError }
        throw NATSError.connectionFailed("\(lastError)")
    }

    /// A random token for inboxes and names: 22 characters of `[A-Za-z0-9]`.
    public static func randomToken() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var g = SystemRandomNumberGenerator()
        return String((0 ..< 22).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }

    /// A new unique inbox subject (for a consumer's deliver subject, for example).
    public func newInbox() -> String { "_INBOX." + NATSConnection.randomToken() }

    /// The `INFO` of the server the connection is on now.
    public var serverInfo: NATSServerInfo? { state.withLock { $0.info } }

    /// The largest payload the current server accepts (1 MiB when unknown).
    public var maxPayload: Int { state.withLock { $0.info?.maxPayload ?? 1_048_576 } }

    /// How many times the connection was re-established.
    public var reconnectCount: Int { state.withLock { $0.reconnects } }

    /// Whether the connection is up now.
    public var isConnected: Bool { state.withLock { $0.channel != nil } }

    /// The server the connection is on now, if connected.
    public var connectedServer: NATSServerAddress? {
        state.withLock { $0.channel == nil ? nil : $0.servers[$0.lastServer] }
    }

    // MARK: - Connecting

    struct ConnectMessage: Encodable {
        var verbose = false
        var pedantic = false
        var tls_required: Bool
        var name: String
        var lang = "swift"
        var version = "1.0.0"
        var `protocol` = 1
        var headers = true
        var no_responders = true
        var echo = true
        var user: String?
        var pass: String?
        var auth_token: String?
        var nkey: String?
        var jwt: String?
        var sig: String?
    }

    /// The JSON of CONNECT for `server`: the configuration's name and credentials (those of the
    /// URL when it has none). An NKEY user sends its public key as `nkey`, a JWT user its `jwt`;
    /// both send `sig`, the base64url (no padding) Ed25519 signature of the nonce's UTF-8 bytes
    /// by `key`, when the server sent a nonce.
    static func connectJSON(_ configuration: NATSConfiguration, key: NKey?, server: NATSServerAddress, nonce: String?,
                            tls: Bool) throws -> [UInt8] {
        var connect = ConnectMessage(tls_required: tls, name: configuration.name)
        switch configuration.authentication {
        case .none:
            if let user = server.user { if let p = server.password { connect.user = user; connect.pass = p } else { connect.auth_token = user } }
        case .userPassword(let user, let password): connect.user = user; connect.pass = password
        case .token(let token): connect.auth_token = token
        case .nkey: connect.nkey = key?.publicKey
        case .credentials(let jwt, _): connect.jwt = jwt
        }
        if let key, let nonce { connect.sig = base64URL(try key.sign(Array(nonce.utf8))) }
        return Array(try StrataJSONEncoder().encode(connect))
    }

    private func establish(_ server: NATSServerAddress, index: Int) async throws {
        let generation = state.withLock { s -> Int in
            s.generation += 1
            return s.generation
        }
        let loop = group.next()
        let info = loop.makePromise(of: [UInt8].self)
        let ready = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelInitializer { [weak self] channel in
                let owner = self
                return channel.eventLoop.makeCompletedFuture {
                    let handler = NATSChannelHandler(info: info, ready: ready) { [weak owner] event in
                        owner?.handle(event, generation: generation)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler, name: "nats")
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch {
            info.fail(NATSError.connectionLost)
            ready.fail(NATSError.connectionLost)
            throw NATSError.connectionFailed("\(server): \(error)")
        }
        do {
            try await withDeadline(configuration.connectTimeout, what: "connecting to \(server)") {
                try await self.handshake(channel, server: server, info: info.futureResult, ready: ready.futureResult)
            }
        } catch let error as NATSError {
            channel.close(promise: nil)
            throw error
        } catch {
            channel.close(promise: nil)
            throw NATSError.connectionFailed("\(server): \(error)")
        }
        // Resubscribe before anything else can be written on the new channel.
        let resume: [CheckedContinuation<any Channel, any Error>] = state.withLock { s in
            guard s.channel == nil && s.generation == generation && !s.closed else {
                // Closed (or superseded) while connecting: this channel is not used.
                channel.close(promise: nil)
                return []
            }
            var out = channel.allocator.buffer(capacity: 256)
            out.writeString("SUB \(inboxPrefix).* \(Self.inboxSID)\r\n")
            for (sid, sub) in s.subscribers.sorted(by: { $0.key < $1.key }) {
                out.writeString("SUB \(sub.subject)\(sub.queue.map { " " + $0 } ?? "") \(sid)\r\n")
            }
            channel.writeAndFlush(out, promise: nil)
            s.channel = channel
            s.lastServer = index
            s.outstandingPings = 0
            let waiters = Array(s.connectWaiters.values)
            s.connectWaiters.removeAll()
            return waiters
        }
        for w in resume { w.resume(returning: channel) }
    }

    private func handshake(_ channel: any Channel, server: NATSServerAddress, info infoFuture: EventLoopFuture<[UInt8]>,
                           ready: EventLoopFuture<Void>) async throws {
        let infoJSON = try await infoFuture.get()
        let info: NATSServerInfo
        do {
            info = try StrataJSONDecoder().decode(NATSServerInfo.self, from: Data(infoJSON))
        } catch {
            throw NATSError.protocolViolation("INFO is not valid JSON: \(error)")
        }
        let useTLS = configuration.tls != nil || server.requiresTLS || info.tlsRequired == true
        if useTLS {
            let tls = configuration.tls ?? TLSConfiguration.makeClientConfiguration()
            let context = try NIOSSLContext(configuration: tls)
            let hostname = server.host.first?.isNumber == true || server.host.contains(":") ? nil : server.host
            try await channel.eventLoop.submit {
                let ssl = try NIOSSLClientHandler(context: context, serverHostname: hostname)
                try channel.pipeline.syncOperations.addHandler(ssl, position: .first)
            }.get()
        }
        let json = try Self.connectJSON(configuration, key: signingKey, server: server, nonce: info.nonce, tls: useTLS)
        var out = channel.allocator.buffer(capacity: json.count + 16)
        out.writeString("CONNECT ")
        out.writeBytes(json)
        out.writeString("\r\nPING\r\n")
        try await channel.writeAndFlush(out).get()
        try await ready.get()
        state.withLock { s in
            s.info = info
            for url in info.connectURLs ?? [] {
                if let a = try? NATSServerAddress(url: url), !s.servers.contains(where: { $0.host == a.host && $0.port == a.port }) {
                    s.servers.append(NATSServerAddress(host: a.host, port: a.port, requiresTLS: server.requiresTLS))
                }
            }
        }
    }

    private func handle(_ event: NATSChannelEvent, generation: Int) {
        switch event {
        case .op(let op):
            switch op {
            case .message(let m): route(m)
            case .pong:
                let w: CheckedContinuation<Void, any Error>? = state.withLock { s in
                    s.outstandingPings = 0
                    return s.pongs.isEmpty ? nil : s.pongs.removeFirst()
                }
                w?.resume()
            case .info(let json):
                if let info = try? StrataJSONDecoder().decode(NATSServerInfo.self, from: Data(json)) {
                    state.withLock { s in
                        for url in info.connectURLs ?? [] {
                            if let a = try? NATSServerAddress(url: url), !s.servers.contains(where: { $0.host == a.host && $0.port == a.port }) {
                                s.servers.append(a)
                            }
                        }
                    }
                }
            case .error(let text):
                state.withLock { $0.failure = .serverError(text) }
            case .ok, .ping:
                break
            }
        case .failed(let error):
            state.withLock { $0.failure = error }
        case .inactive:
            connectionLost(generation: generation)
        }
    }

    private func route(_ m: NATSMessage) {
        if m.sid == Self.inboxSID {
            guard let id = UInt64(m.subject.dropFirst(inboxPrefix.count + 1)) else { return }
            let c = state.withLock { $0.requests.removeValue(forKey: id) }
            if m.status == 503 {
                c?.resume(throwing: NATSError.noResponders(subject: m.subject))
            } else {
                c?.resume(returning: m)
            }
            return
        }
        let buffer = state.withLock { $0.subscribers[m.sid]?.buffer }
        buffer?.deliver(m)
    }

    private func connectionLost(generation: Int) {
        let (requests, pongs, reconnect): ([CheckedContinuation<NATSMessage, any Error>], [CheckedContinuation<Void, any Error>], Bool) = state.withLock { s in
            guard s.generation == generation, s.channel != nil else { return ([], [], false) }
            s.channel = nil
            let r = Array(s.requests.values)
            s.requests.removeAll()
            let p = s.pongs
            s.pongs.removeAll()
            return (r, p, !s.closed)
        }
        for c in requests { c.resume(throwing: NATSError.connectionLost) }
        for c in pongs { c.resume(throwing: NATSError.connectionLost) }
        if reconnect {
            configuration.logger?.warning("NATS connection lost; reconnecting", metadata: ["client": .string(configuration.name)])
            Task { await self.reconnectLoop() }
        }
    }

    private func reconnectLoop() async {
        var round = 0
        var wait = configuration.reconnectWait
        while true {
            let (servers, start, closed) = state.withLock { ($0.servers, $0.lastServer, $0.closed) }
            if closed { return }
            for k in 0 ..< servers.count {
                let i = (start + 1 + k) % servers.count
                if state.withLock({ $0.closed }) { return }
                do {
                    try await establish(servers[i], index: i)
                    state.withLock { $0.reconnects += 1 }
                    configuration.logger?.info("NATS reconnected", metadata: [
                        "client": .string(configuration.name), "server": .string("\(servers[i])"), "rounds": .stringConvertible(round),
                    ])
                    return
                } catch {
                    continue
                }
            }
            round += 1
            if let max = configuration.maxReconnectRounds, round >= max {
                configuration.logger?.error("NATS gave up reconnecting", metadata: ["client": .string(configuration.name), "rounds": .stringConvertible(round)])
                await fail(.connectionFailed("gave up after \(round) reconnect rounds"))
                return
            }
            let jitter = Duration.milliseconds(Int.random(in: 0 ... 20))
            try? await Task.sleep(for: wait + jitter)
            wait = min(wait * 2, configuration.maxReconnectWait)
        }
    }

    private func fail(_ error: NATSError) async {
        let (subs, waiters) = state.withLock { s in
            s.closed = true
            s.failure = error
            let subs = s.subscribers.values.map(\.buffer)
            s.subscribers.removeAll()
            let w = Array(s.connectWaiters.values)
            s.connectWaiters.removeAll()
            return (subs, w)
        }
        for b in subs { b.finish(error) }
        for w in waiters { w.resume(throwing: error) }
    }

    private func startPinging() {
        let interval = configuration.pingInterval
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                let (channel, closed, stale) = self.state.withLock { s -> ((any Channel)?, Bool, Bool) in
                    if s.channel != nil { s.outstandingPings += 1 }
                    return (s.channel, s.closed, s.outstandingPings > 2)
                }
                if closed { return }
                guard let channel else { continue }
                if stale {
                    channel.close(promise: nil)
                } else {
                    channel.writeAndFlush(channel.allocator.buffer(string: "PING\r\n"), promise: nil)
                }
            }
        }
    }

    /// The channel when connected; otherwise waits for the reconnect, up to ``NATSConfiguration/reconnectBufferTimeout``.
    private func currentChannel() async throws -> any Channel {
        enum Now { case ready(any Channel), closed(NATSError), wait(UInt64) }
        let now: Now = state.withLock { s in
            if s.closed { return .closed(s.failure ?? .closed) }
            if let c = s.channel { return .ready(c) }
            s.nextWaiter += 1
            return .wait(s.nextWaiter)
        }
        switch now {
        case .ready(let c): return c
        case .closed(let e): throw e
        case .wait(let id):
            let timer = Task { [weak self] in
                try? await Task.sleep(for: self?.configuration.reconnectBufferTimeout ?? .seconds(1))
                if Task.isCancelled { return }
                let w = self?.state.withLock { $0.connectWaiters.removeValue(forKey: id) }
                w?.resume(throwing: NATSError.timedOut("waiting for the NATS connection to come back"))
            }
            defer { timer.cancel() }
            return try await withCheckedThrowingContinuation { c in
                let ready: (any Channel)? = state.withLock { s in
                    if let ch = s.channel { return ch }
                    s.connectWaiters[id] = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        }
    }

    // MARK: - Publishing

    private static func validSubject(_ subject: String, wildcards: Bool = false) throws {
        if subject.isEmpty || subject.utf8.contains(where: { $0 <= 32 || $0 == 127 })
            || subject.hasPrefix(".") || subject.hasSuffix(".") || subject.contains("..") {
            throw NATSError.invalidArgument("subject \(subject.debugDescription) is empty, has a space or control character, or an empty token")
        }
        if !wildcards && subject.split(separator: ".").contains(where: { $0 == "*" || $0 == ">" }) {
            throw NATSError.invalidArgument("subject \(subject.debugDescription) has a wildcard; publish to a literal subject")
        }
    }

    /// Encodes `PUB`/`HPUB` into `out`.
    func encodePublish(_ subject: String, replyTo: String?, headers: NATSHeaders?, payload: some Collection<UInt8>,
                       into out: inout ByteBuffer) throws {
        try Self.validSubject(subject)
        if let replyTo { try Self.validSubject(replyTo) }
        let reply = replyTo.map { " " + $0 } ?? ""
        if let headers, !headers.isEmpty {
            var block = ByteBufferAllocator().buffer(capacity: 128)
            try headers.write(into: &block)
            let total = block.readableBytes + payload.count
            if total > maxPayload { throw NATSError.invalidArgument("a message of \(total) bytes exceeds the server's max_payload of \(maxPayload)") }
            out.writeString("HPUB \(subject)\(reply) \(block.readableBytes) \(total)\r\n")
            out.writeBuffer(&block)
        } else {
            if payload.count > maxPayload { throw NATSError.invalidArgument("a message of \(payload.count) bytes exceeds the server's max_payload of \(maxPayload)") }
            out.writeString("PUB \(subject)\(reply) \(payload.count)\r\n")
        }
        out.writeBytes(payload)
        out.writeString("\r\n")
    }

    /// Publishes a message (fire and forget: core NATS gives no acknowledgement; use
    /// ``flush()`` to know the server has read it, or JetStream for persistence).
    /// - Throws: ``NATSError/invalidArgument(_:)`` for a bad subject or a payload over `max_payload`.
    public func publish(_ subject: String, payload: some Collection<UInt8>, headers: NATSHeaders? = nil, replyTo: String? = nil) async throws {
        let channel = try await currentChannel()
        var out = channel.allocator.buffer(capacity: payload.count + subject.utf8.count + 64)
        try encodePublish(subject, replyTo: replyTo, headers: headers, payload: payload, into: &out)
        channel.writeAndFlush(out, promise: nil)
    }

    /// Round-trips a PING: returns when the server has processed everything sent before.
    public func flush(timeout: Duration? = nil) async throws {
        let channel = try await currentChannel()
        try await withDeadline(timeout ?? configuration.requestTimeout, what: "PONG") {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ok = self.state.withLock { s -> Bool in
                    guard s.channel === channel else { return false }
                    s.pongs.append(c)
                    channel.writeAndFlush(channel.allocator.buffer(string: "PING\r\n"), promise: nil)
                    return true
                }
                if !ok { c.resume(throwing: NATSError.connectionLost) }
            }
        }
    }

    /// Sends a request and waits for the first reply, through the connection's shared inbox.
    /// - Throws: ``NATSError/noResponders(subject:)``, ``NATSError/timedOut(_:)``,
    ///   ``NATSError/connectionLost`` (the request may or may not have reached a responder).
    public func request(_ subject: String, payload: some Collection<UInt8>, headers: NATSHeaders? = nil,
                        timeout: Duration? = nil) async throws -> NATSMessage {
        let channel = try await currentChannel()
        let id = state.withLock { s -> UInt64 in
            s.nextRequest += 1
            return s.nextRequest
        }
        var encoded = channel.allocator.buffer(capacity: payload.count + subject.utf8.count + 96)
        try encodePublish(subject, replyTo: "\(inboxPrefix).\(id)", headers: headers, payload: payload, into: &encoded)
        let out = encoded
        let limit = timeout ?? configuration.requestTimeout
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            if Task.isCancelled { return }
            let c = self?.state.withLock { $0.requests.removeValue(forKey: id) }
            c?.resume(throwing: NATSError.timedOut("no reply to a request on \(subject) within \(limit)"))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<NATSMessage, any Error>) in
                let ok = state.withLock { s -> Bool in
                    guard s.channel === channel, !Task.isCancelled else { return false }
                    s.requests[id] = c
                    channel.writeAndFlush(out, promise: nil)
                    return true
                }
                if !ok { c.resume(throwing: Task.isCancelled ? CancellationError() : NATSError.connectionLost) }
            }
        } onCancel: {
            let c = state.withLock { $0.requests.removeValue(forKey: id) }
            c?.resume(throwing: CancellationError())
        }
    }

    // MARK: - Subscribing

    /// Subscribes to a subject (wildcards `*` and `>` allowed), optionally in a queue group.
    /// The subscription survives reconnects.
    public func subscribe(to subject: String, queue: String? = nil) async throws -> NATSSubscription {
        try Self.validSubject(subject, wildcards: true)
        let buffer = SubscriptionBuffer(subject: subject, limit: configuration.subscriptionBufferLimit)
        let (sid, channel): (UInt64, (any Channel)?) = try state.withLock { s in
            if s.closed { throw s.failure ?? .closed }
            let sid = s.nextSID
            s.nextSID += 1
            s.subscribers[sid] = Subscriber(subject: subject, queue: queue, buffer: buffer)
            if let ch = s.channel {
                ch.writeAndFlush(ch.allocator.buffer(string: "SUB \(subject)\(queue.map { " " + $0 } ?? "") \(sid)\r\n"), promise: nil)
            }
            return (sid, s.channel)
        }
        _ = channel
        return NATSSubscription(sid: sid, subject: subject, buffer: buffer, connection: self)
    }

    func unsubscribe(_ sid: UInt64) async {
        let sub: Subscriber? = state.withLock { s in
            guard let sub = s.subscribers.removeValue(forKey: sid) else { return nil }
            if let ch = s.channel { ch.writeAndFlush(ch.allocator.buffer(string: "UNSUB \(sid)\r\n"), promise: nil) }
            return sub
        }
        sub?.buffer.finish()
    }

    /// Throws ``NATSError/closed`` (or the reason it gave up) once the connection is closed.
    public func checkOpen() throws {
        try state.withLock { s in if s.closed { throw s.failure ?? .closed } }
    }

    /// Closes the connection: ends every subscription and fails waiting requests with ``NATSError/closed``.
    public func close() async throws {
        let (channel, subs, requests, waiters, pongs) = state.withLock { s in
            s.closed = true
            let pongs = s.pongs
            s.pongs.removeAll()
            let ch = s.channel
            s.channel = nil
            let subs = s.subscribers.values.map(\.buffer)
            s.subscribers.removeAll()
            let r = Array(s.requests.values)
            s.requests.removeAll()
            let w = Array(s.connectWaiters.values)
            s.connectWaiters.removeAll()
            return (ch, subs, r, w, pongs)
        }
        for p in pongs { p.resume(throwing: NATSError.closed) }
        for b in subs { b.finish() }
        for r in requests { r.resume(throwing: NATSError.closed) }
        for w in waiters { w.resume(throwing: NATSError.closed) }
        if let channel { try? await channel.close().get() }
    }
}

/// Runs `body`, failing with ``NATSError/timedOut(_:)`` when it takes longer than `limit`.
func withDeadline<T: Sendable>(_ limit: Duration, what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw NATSError.timedOut(what)
        }
        return value
    }
}
