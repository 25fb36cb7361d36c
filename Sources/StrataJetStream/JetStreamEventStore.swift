import Foundation
import Strata
import StrataNATS
import Synchronization

/// A Strata store on a NATS JetStream stream: clustered and replicated by the NATS servers.
///
/// Every change is one message of the stream (docs/JETSTREAM.md): a commit holds all the
/// events of one or more appends, a delete or a metadata change holds one. Writers publish
/// with `Nats-Expected-Last-Sequence` set to the last sequence they applied, so the server
/// accepts a write only on top of the state it was decided against: positions are contiguous
/// and gap-free, multi-event and multi-stream appends are atomic, and expected revisions,
/// conditions and idempotency are decided race-free across every instance. Each instance keeps
/// the store's state in memory (a replica fed by an ordered consumer), so reads are local.
///
/// ```swift
/// let store = try await JetStreamEventStore.open(try JetStreamStoreConfiguration(urls: ["nats://127.0.0.1:4222"], store: "shop"))
/// try await store.append(to: "order-1", event: EventData(type: "placed", json: "{}"))
/// ```
public final class JetStreamEventStore: EventStore {
    /// The configuration the store was opened with.
    public let configuration: JetStreamStoreConfiguration
    let connection: NATSConnection
    let js: JetStream
    let state: Mutex<ReplicaState>
    /// Wakes waiters on Strata positions.
    let notifier = AppendNotifier()
    /// Wakes waiters on applied JetStream sequences.
    let sequences = AppendNotifier()
    /// Appends, deletes and metadata changes waiting for their commit.
    let queue: GroupCommitQueue<StoreChange, [AppendResult]>
    private let follower = Mutex<Task<Void, Never>?>(nil)

    private init(configuration: JetStreamStoreConfiguration, connection: NATSConnection) {
        self.configuration = configuration
        self.connection = connection
        self.js = JetStream(connection: connection, timeout: .seconds(5))
        self.state = Mutex(ReplicaState())
        self.queue = GroupCommitQueue(limits: .init(maxBatchEvents: configuration.maxEventsPerCommit))
    }

    /// Connects, creates the JetStream stream when it is missing, and loads the store.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when no server answers,
    ///   ``StrataError/invalidArgument(_:)`` when the servers' `max_payload` is too small for
    ///   the event size limit or the stream exists with other subjects.
    public static func open(_ configuration: JetStreamStoreConfiguration) async throws -> JetStreamEventStore {
        let connection: NATSConnection
        do {
            connection = try await NATSConnection.connect(configuration.nats)
        } catch let e as NATSError {
            throw StrataError.io(path: configuration.nats.servers.map(\.description).joined(separator: ","), operation: "connect", reason: e.description)
        }
        let store = JetStreamEventStore(configuration: configuration, connection: connection)
        do {
            try await store.start()
        } catch {
            try? await connection.close()
            throw error
        }
        return store
    }

    private func start() async throws {
        let needed = configuration.limits.maxEventSize + 65_536
        if connection.maxPayload < needed {
            throw StrataError.invalidArgument("the NATS server's max_payload is \(connection.maxPayload) bytes, below the event size limit plus 64 KiB (\(needed)); raise max_payload in the server configuration or lower EventLimits.maxEventSize")
        }
        let info: JetStreamStreamInfo
        do {
            info = try await ensureStream()
        } catch let e as NATSError {
            throw mapped(e, operation: "create stream \(configuration.streamName)")
        }
        // The stream's creation time makes the identity: the same for every instance, new when
        // the stream is deleted and created again.
        let identity = try StoreIdentity("jetstream:" + (info.created ?? "unknown") + ":" + configuration.streamName)
        state.withLock { $0.identity = identity }
        let task = Task { [weak self] in if let self { await self.follow() } }
        follower.withLock { $0 = task }
        try await waitApplied(info.state.lastSeq)
        // Ends when close() closes the queue.
        Task { await self.runCommitter() }
    }

    private func ensureStream() async throws -> JetStreamStreamInfo {
        let subject = "\(configuration.subjectPrefix).>"
        do {
            let info = try await js.streamInfo(configuration.streamName)
            guard info.config.subjects.contains(subject) else {
                throw StrataError.invalidArgument("the JetStream stream \(configuration.streamName) exists with subjects \(info.config.subjects), not \(subject)")
            }
            return info
        } catch NATSError.jetStream(_, let code, _) where code == NATSError.streamNotFoundCode {
            var config = JetStreamStreamConfig(name: configuration.streamName, subjects: [subject])
            config.numReplicas = configuration.replicas
            config.storage = configuration.fileStorage ? "file" : "memory"
            config.denyDelete = true
            config.denyPurge = true
            config.allowDirect = false
            return try await js.createStream(config)
        }
    }

    // MARK: - Following the stream

    private func follow() async {
        let consumer = js.orderedConsumer(stream: configuration.streamName, startSequence: 1, idleHeartbeat: .seconds(1))
        defer { Task { await consumer.stop() } }
        do {
            for try await message in consumer {
                try apply(message)
            }
        } catch let e as StrataError {
            state.withLock { $0.failure = e }
            notifier.close()
            sequences.close()
        } catch {
            // The connection closed: the store is closing.
        }
    }

    private func apply(_ message: JetStreamMessage) throws {
        let location = "\(configuration.streamName)#\(message.streamSequence)"
        let head: UInt64? = try state.withLock { s in
            guard message.streamSequence == s.appliedSequence + 1 else { return nil }
            let entry = try CommitFormat.decode(headers: message.headers, body: message.bytes, where: location)
            try s.apply(entry, sequence: message.streamSequence, location: location)
            return s.head
        }
        if let head { publishProgress(head: head) }
    }

    func publishProgress(head: UInt64) {
        let applied = state.withLock { $0.appliedSequence }
        notifier.advance(to: head)
        sequences.advance(to: applied)
    }

    /// Waits until the replica has applied `sequence`.
    func waitApplied(_ sequence: UInt64) async throws {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        while true {
            let applied = try state.withLock { s -> UInt64 in
                try s.checkOpen()
                return s.appliedSequence
            }
            if applied >= sequence { return }
            if ContinuousClock.now > deadline {
                throw StrataError.timedOut("applying JetStream entries up to \(sequence) of \(configuration.streamName) (at \(applied))")
            }
            try await sequences.wait(after: applied, timeout: .milliseconds(200))
        }
    }

    /// Brings the replica up to the server's last sequence (a linearizable read's first step).
    func syncWithServer() async throws {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        while true {
            do {
                let info = try await js.streamInfo(configuration.streamName)
                try await waitApplied(info.state.lastSeq)
                return
            } catch let e as NATSError {
                if ContinuousClock.now > deadline || !Self.isTransient(e) { throw mapped(e, operation: "stream info") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func syncForRead() async throws {
        try state.withLock { try $0.checkOpen() }
        if configuration.linearizableReads { try await syncWithServer() }
    }

    static func isTransient(_ e: NATSError) -> Bool {
        switch e {
        case .connectionLost, .timedOut, .noResponders: return true
        case .jetStream(let code, _, _): return code == 503 || code == 500 || code == 408
        default: return false
        }
    }

    func mapped(_ e: NATSError, operation: String) -> StrataError {
        switch e {
        case .closed: return .storeClosed(reason: "the NATS connection was closed")
        case .timedOut(let what): return .timedOut(what)
        default: return .io(path: "nats:\(configuration.streamName)", operation: operation, reason: e.description)
        }
    }

    // MARK: - EventStore

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: limits)
        try state.withLock { try $0.checkOpen() }
        return try await commitAppend(requests, condition)
    }

    var limits: EventLimits { configuration.limits }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        try await syncForRead()
        let now = currentMicroseconds()
        return try state.withLock { s in
            try s.checkOpen()
            return try s.log.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount, nowMicros: now)
        }
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try await syncForRead()
        return try state.withLock { s in
            try s.checkOpen()
            return s.log.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
        }
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        try await syncForRead()
        let now = currentMicroseconds()
        return try state.withLock { s in
            try s.checkOpen()
            return s.log.streamInfo(stream, nowMicros: now)
        }
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try await syncForRead()
        return try state.withLock { s in
            try s.checkOpen()
            return s.log.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
        }
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try state.withLock { try $0.checkOpen() }
        try await submit(.delete(stream: stream, expected: expectedRevision, mode: mode))
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try state.withLock { try $0.checkOpen() }
        try await submit(.setMetadata(stream: stream, metadata: metadata))
    }

    public func headPosition() async throws -> UInt64 {
        try await syncForRead()
        return try state.withLock { s in
            try s.checkOpen()
            return s.head
        }
    }

    /// `jetstream:{created}:{stream}`: the JetStream stream's creation time (as the server
    /// reports it) and name, the same for every instance (docs/JETSTREAM.md).
    public func identity() async throws -> StoreIdentity {
        try state.withLock { s in
            try s.checkOpen()
            guard let identity = s.identity else { throw StrataError.storeClosed(reason: "the store is not open") }
            return identity
        }
    }

    public func stats() async throws -> StoreStats {
        try await syncForRead()
        let info = try? await js.streamInfo(configuration.streamName)
        return try state.withLock { s in
            try s.checkOpen()
            var details = ["backend": "jetstream", "stream": configuration.streamName, "subjects": "\(configuration.subjectPrefix).>",
                           "appliedSequence": String(s.appliedSequence), "reconnects": String(connection.reconnectCount),
                           "server": connection.connectedServer?.description ?? "none"]
            if let info {
                details["replicas"] = String(info.config.numReplicas)
                details["streamBytes"] = String(info.state.bytes)
                if let leader = info.cluster?.leader { details["leader"] = leader }
            }
            return StoreStats(headPosition: s.head, firstPosition: 1, streamCount: s.log.streams.count,
                              bytesOnDisk: Int64(info?.state.bytes ?? 0), details: details)
        }
    }

    public func waitForAppends(after position: UInt64) async throws {
        try await notifier.wait(after: position, timeout: .seconds(5))
    }

    public func close() async throws {
        let wasOpen = state.withLock { s -> Bool in
            defer { if s.closedReason == nil { s.closedReason = "close() was called" } }
            return s.closedReason == nil
        }
        guard wasOpen else { return }
        queue.close(failing: StrataError.storeClosed(reason: "close() was called"))
        await queue.waitUntilIdle()
        follower.withLock { $0?.cancel() }
        notifier.close()
        sequences.close()
        try? await connection.close()
    }
}
