import Foundation
import Strata
import StrataNATS
import Synchronization

/// A Strata store on a NATS JetStream stream: clustered and replicated by the NATS servers.
///
/// Every change is one message of the stream (docs/JETSTREAM.md): a commit holds all the
/// events of one or more appends, a delete or a metadata change holds one. Writers publish
/// with `Nats-Expected-Last-Sequence` set to the last sequence their decision was made against,
/// so the server accepts a write only on top of that state: positions are contiguous and
/// gap-free, multi-event and multi-stream appends are atomic, and expected revisions,
/// conditions and idempotency are decided race-free across every instance. Decisions and reads
/// use an index kept in JetStream itself (a key-value stream: stream states, revisions, commit
/// positions, event ids), so an instance holds only bounded caches: its memory does not grow
/// with the store and it opens in constant time.
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
    /// The index (set when the store opens: it is bound to the main stream's creation time).
    var index: StoreIndex { indexBox.withLock { $0! } }
    private let indexBox = Mutex<StoreIndex?>(nil)
    struct State {
        var closedReason: String?
        /// The store's identity, from the JetStream stream's creation time (set when the store opens).
        var identity: StoreIdentity?
        /// The last main-stream sequence this instance knows was written (its own writes, the
        /// server's answers): non-linearizable reads make sure the index covers it.
        var knownSequence: UInt64 = 0
    }
    let state = Mutex(State())
    /// Wakes waiters on Strata positions (as indexed).
    let notifier = AppendNotifier()
    /// Wakes waiters on indexed main-stream sequences.
    let markers = AppendNotifier()
    /// Appends, deletes and metadata changes waiting for their commit.
    let queue: GroupCommitQueue<StoreChange, [AppendResult]>
    private let follower = Mutex<Task<Void, Never>?>(nil)

    private init(configuration: JetStreamStoreConfiguration, connection: NATSConnection) {
        self.configuration = configuration
        self.connection = connection
        self.js = JetStream(connection: connection, timeout: .seconds(5))
        self.queue = GroupCommitQueue(limits: .init(maxBatchEvents: configuration.maxEventsPerCommit))
    }

    /// Connects, creates the JetStream streams (the store's and its index) when they are
    /// missing, and indexes what is not indexed yet (all of a store written by version 1, once).
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when no server answers,
    ///   ``StrataError/invalidArgument(_:)`` when the servers' `max_payload` is too small for
    ///   the event size limit or a stream exists with other subjects.
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
            await store.stopFollowing()
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
        let info = try await nats("create stream \(configuration.streamName)") {
            try await self.ensureStream(self.configuration.streamName, subject: "\(self.configuration.subjectPrefix).>", keyValue: false)
        }
        let indexInfo = try await nats("create stream \(configuration.indexStreamName)") {
            try await self.ensureStream(self.configuration.indexStreamName, subject: "\(self.configuration.indexSubjectPrefix).>", keyValue: true)
        }
        let created = info.created ?? "unknown"
        let index = StoreIndex(js: js, mainStream: configuration.streamName, stream: configuration.indexStreamName,
                               prefix: configuration.indexSubjectPrefix, storeCreated: created, limits: configuration.cacheLimits)
        indexBox.withLock { $0 = index }
        // An index is of one main stream: one left over from a deleted stream of the same name
        // would describe events that are not there.
        let found = try await nats("read \(configuration.indexStreamName)") { try await index.fetchMarker() }
        let foreign: String? = found.subjectSequence == 0
            ? (indexInfo.state.messages > 0 ? "holds keys but no marker" : nil)
            : (found.marker.store != created ? "indexes a stream \(configuration.streamName) created \(found.marker.store ?? "unknown"), not this one (created \(created))" : nil)
        if let foreign {
            throw StrataError.corruption(path: "nats:\(configuration.indexStreamName)", offset: 0,
                                         reason: "the index stream \(foreign): it is left over from a deleted store of the same name; delete the stream \(configuration.indexStreamName) (for example `nats stream rm \(configuration.indexStreamName)`) and open the store again to index it afresh")
        }
        // The stream's creation time makes the identity: the same for every instance, new when
        // the stream is deleted and created again.
        let identity = try StoreIdentity("jetstream:" + created + ":" + configuration.streamName)
        state.withLock {
            $0.identity = identity
            $0.knownSequence = info.state.lastSeq
        }
        let (marker, markerSequence) = try await nats("index \(configuration.streamName)") {
            try await self.index.ensureIndexed(through: info.state.lastSeq)
        }
        observe(marker)
        let task = Task { [weak self] in
            guard let self else { return }
            await self.follow(from: markerSequence + 1)
        }
        follower.withLock { $0 = task }
        // Ends when close() closes the queue.
        Task { await self.runCommitter() }
    }

    private func ensureStream(_ name: String, subject: String, keyValue: Bool) async throws -> JetStreamStreamInfo {
        do {
            let info = try await js.streamInfo(name)
            guard info.config.subjects.contains(subject) else {
                throw StrataError.invalidArgument("the JetStream stream \(name) exists with subjects \(info.config.subjects), not \(subject)")
            }
            return info
        } catch NATSError.jetStream(_, let code, _) where code == NATSError.streamNotFoundCode {
            var config = JetStreamStreamConfig(name: name, subjects: [subject])
            config.numReplicas = configuration.replicas
            config.storage = configuration.fileStorage ? "file" : "memory"
            config.denyDelete = true
            config.denyPurge = !keyValue
            config.allowDirect = false
            if keyValue { config.maxMsgsPerSubject = 1 }
            return try await js.createStream(config)
        }
    }

    // MARK: - Following the index

    /// Follows the index's marker: each update wakes subscriptions and waiting operations.
    private func follow(from subjectSequence: UInt64) async {
        let consumer = js.orderedConsumer(stream: configuration.indexStreamName, filterSubject: index.headSubject,
                                          startSequence: subjectSequence, idleHeartbeat: .seconds(1))
        do {
            for try await message in consumer {
                guard let marker = try? IndexFormat.decodeMarker(message.bytes, where: "") else { continue }
                index.remember(marker, message.streamSequence)
                observe(marker)
            }
        } catch {
            // The connection closed: the store is closing. Operations index what they need.
        }
        await consumer.stop()
    }

    private func stopFollowing() async {
        let task = follower.withLock { $0 }
        task?.cancel()
    }

    /// Announces an indexed state.
    func observe(_ marker: IndexMarker) {
        markers.advance(to: marker.sequence)
        notifier.advance(to: marker.head)
    }

    /// Raises the last main-stream sequence this instance knows of.
    func learned(_ sequence: UInt64) {
        state.withLock { $0.knownSequence = Swift.max($0.knownSequence, sequence) }
    }

    func checkOpen() throws {
        if let reason = state.withLock({ $0.closedReason }) { throw StrataError.storeClosed(reason: reason) }
    }

    /// The index as of main-stream `sequence` or later. When it is behind, waits up to
    /// `indexRepairDelay` for the writer of the missing entries, then indexes them itself.
    func indexed(through sequence: UInt64) async throws -> (marker: IndexMarker, subjectSequence: UInt64) {
        if let k = index.knownMarkerAndSequence, k.marker.sequence >= sequence { return k }
        let deadline = ContinuousClock.now + configuration.indexRepairDelay
        while let k = index.knownMarkerAndSequence, k.marker.sequence < sequence, ContinuousClock.now < deadline {
            try await markers.wait(after: k.marker.sequence, timeout: deadline - ContinuousClock.now)
            try checkOpen()
        }
        let found = try await nats("index \(configuration.streamName)") { try await self.index.ensureIndexed(through: sequence) }
        observe(found.marker)
        return found
    }

    /// The server's last sequence of the main stream (a linearizable read's first step).
    func serverSequence() async throws -> UInt64 {
        let deadline = ContinuousClock.now + configuration.operationTimeout
        while true {
            do {
                let info = try await js.streamInfo(configuration.streamName)
                learned(info.state.lastSeq)
                return info.state.lastSeq
            } catch let e as NATSError {
                if ContinuousClock.now > deadline || !Self.isTransient(e) { throw mapped(e, operation: "stream info") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// The index a read uses: as of the server's last sequence (linearizable reads) or of the
    /// last sequence this instance knows of.
    private func syncForRead() async throws -> IndexMarker {
        try checkOpen()
        let sequence = configuration.linearizableReads ? try await serverSequence() : state.withLock { $0.knownSequence }
        return try await indexed(through: sequence).marker
    }

    /// Runs a JetStream call, turning NATS errors into Strata errors.
    func nats<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let e as NATSError {
            throw mapped(e, operation: operation)
        }
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
        try checkOpen()
        return try await commitAppend(requests, condition)
    }

    var limits: EventLimits { configuration.limits }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        _ = try await syncForRead()
        let now = currentMicroseconds()
        return try await nats("read \(stream)") {
            guard let record = try await self.index.record(stream)?.record else { throw StrataError.streamNotFound(stream) }
            if record.tombstoned { throw StrataError.streamTombstoned(stream) }
            if !record.exists { throw StrataError.streamNotFound(stream) }
            let visibility = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                              metadata: record.metadata ?? StreamMetadata(), nowMicros: now)
            guard maxCount > 0, let range = visibility.revisions(from: origin, direction: direction) else {
                return StreamPage(events: [], next: nil)
            }
            var page: [RecordedEvent] = []
            var next: UInt64?
            var r = direction == .forward ? range.lowerBound : range.upperBound
            reading: while range.contains(r) {
                // One more than the page needs, to know where the next page starts.
                let window = UInt64(Swift.min(maxCount - page.count, 1023) + 1)
                let revisions = direction == .forward ? r ... Swift.min(range.upperBound, r + window - 1)
                    : Swift.max(range.lowerBound, r >= window ? r - window + 1 : 1) ... r
                var events = try await self.index.events(at: try await self.index.locations(of: stream, revisions: revisions))
                if direction == .backward { events.reverse() }
                for e in events {
                    if page.count == maxCount {
                        next = r
                        break reading
                    }
                    if visibility.admits(recordedAtMicros: e.recordedAtMicroseconds) { page.append(e) }
                    if direction == .forward { r += 1 } else { r -= 1 }
                }
            }
            return StreamPage(events: page, next: next)
        }
    }

    /// The most positions one `$all` page fetches.
    static let maxPageWindow: UInt64 = 65_536

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        let head = try await syncForRead().head
        // The positions this page may visit, fetched first; the page walk is the core's.
        var window: ClosedRange<UInt64>?
        let wanted = Swift.min(UInt64(Swift.max(0, maxCount)), Self.maxPageWindow) + 1
        let size = filter.isEmpty ? wanted : Swift.max(wanted, 4096)
        if maxCount > 0 {
            switch (direction, origin) {
            case (.forward, .end): break
            case (.forward, _):
                let from = Swift.max(origin.position(default: 1), 1)
                if from <= head { window = from ... Swift.min(head, from + size - 1) }
            case (.backward, _):
                let from = Swift.min(origin.position(default: head), head)
                if from >= 1 { window = (from >= size ? from - size + 1 : 1) ... from }
            }
        }
        guard let window else {
            return try AllPageScan.scan(head: head, firstPosition: 1, origin: origin, direction: direction, filter: filter, maxCount: maxCount) { p in
                throw StrataError.corruption(path: "nats:\(configuration.streamName)", offset: 0, reason: "position \(p) outside the page")
            }
        }
        let events = try await nats("read $all") { try await self.index.events(window) }
        guard events.count == window.count else {
            throw StrataError.corruption(path: "nats:\(configuration.streamName)", offset: 0,
                                         reason: "positions \(window) hold \(events.count) events")
        }
        let event: (UInt64) throws -> RecordedEvent = { events[Int($0 - window.lowerBound)] }
        switch direction {
        case .forward:
            let page = try AllPageScan.scan(head: window.upperBound, firstPosition: 1, origin: origin, direction: direction, filter: filter,
                                            maxCount: maxCount, event: event)
            if page.next == nil && window.upperBound < head {
                return AllPage(events: page.events, next: window.upperBound + 1, scannedThrough: window.upperBound)
            }
            return page
        case .backward:
            let page = try AllPageScan.scan(head: head, firstPosition: window.lowerBound, origin: origin, direction: direction, filter: filter,
                                            maxCount: maxCount, event: event)
            if page.next == nil && window.lowerBound > 1 {
                return AllPage(events: page.events, next: window.lowerBound - 1, scannedThrough: window.lowerBound)
            }
            return page
        }
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        _ = try await syncForRead()
        let now = currentMicroseconds()
        return try await nats("stream info \(stream)") {
            guard let record = try await self.index.record(stream)?.record else { return .unknown(stream) }
            let metadata = record.metadata ?? StreamMetadata()
            var count = 0
            if record.exists {
                let v = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                         metadata: metadata, nowMicros: now)
                if let range = v.revisions(from: .start, direction: .forward) {
                    if metadata.maxAge == nil {
                        count = range.count
                    } else {
                        var r = range.lowerBound
                        while r <= range.upperBound {
                            let revisions = r ... Swift.min(range.upperBound, r + 1023)
                            let events = try await self.index.events(at: try await self.index.locations(of: stream, revisions: revisions))
                            count += events.filter { v.admits(recordedAtMicros: $0.recordedAtMicroseconds) }.count
                            r = revisions.upperBound + 1
                        }
                    }
                }
            }
            return StreamInfo(stream: stream, lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                              isTombstoned: record.tombstoned, metadata: metadata, eventCount: count)
        }
    }

    /// Reads every stream record of the index (one ordered consumer over `<ix>.s.*`) and keeps
    /// the `maxCount` first names: the work is proportional to the number of streams, the memory
    /// to `maxCount`.
    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        let marker = try await syncForRead()
        guard maxCount > 0, marker.streams > 0 else { return [] }
        return try await nats("list streams") {
            let consumer = self.js.orderedConsumer(stream: self.configuration.indexStreamName,
                                                   filterSubject: "\(self.configuration.indexSubjectPrefix).s.*", startSequence: 1,
                                                   idleHeartbeat: .seconds(1))
            var names: [String] = []
            do {
                let tokenStart = self.configuration.indexSubjectPrefix.utf8.count + 3
                for try await message in consumer {
                    let token = String(message.subject.utf8.dropFirst(tokenStart))!
                    if let name = SubjectEncoding.stream(for: token), name.utf8.starts(with: prefix.utf8),
                       after.map({ StreamOrder.less($0, name) }) ?? true,
                       (names.count < maxCount || StreamOrder.less(name, names[names.count - 1])),
                       try IndexFormat.decodeRecord(message.bytes, where: "\(self.configuration.indexStreamName)#\(message.streamSequence)").exists {
                        let at = names.firstIndex { StreamOrder.less(name, $0) } ?? names.count
                        names.insert(name, at: at)
                        if names.count > maxCount { names.removeLast() }
                    }
                    if message.pending == 0 { break }
                }
            } catch {
                await consumer.stop()
                throw error
            }
            await consumer.stop()
            return names
        }
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try checkOpen()
        try await submit(.delete(stream: stream, expected: expectedRevision, mode: mode))
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try checkOpen()
        try await submit(.setMetadata(stream: stream, metadata: metadata))
    }

    public func headPosition() async throws -> UInt64 {
        try await syncForRead().head
    }

    /// `jetstream:{created}:{stream}`: the JetStream stream's creation time (as the server
    /// reports it) and name, the same for every instance (docs/JETSTREAM.md).
    public func identity() async throws -> StoreIdentity {
        try checkOpen()
        guard let identity = state.withLock({ $0.identity }) else { throw StrataError.storeClosed(reason: "the store is not open") }
        return identity
    }

    public func stats() async throws -> StoreStats {
        let marker = try await syncForRead()
        let info = try? await js.streamInfo(configuration.streamName)
        let caches = index.cacheCounts
        var details = ["backend": "jetstream", "stream": configuration.streamName, "subjects": "\(configuration.subjectPrefix).>",
                       "indexStream": configuration.indexStreamName, "indexedSequence": String(marker.sequence),
                       "cachedCommits": String(caches.commits), "cachedCommitBytes": String(caches.commitBytes),
                       "cachedRevisionChunks": String(caches.revisionChunks), "cachedPositionChunks": String(caches.positionChunks),
                       "reconnects": String(connection.reconnectCount), "server": connection.connectedServer?.description ?? "none"]
        if let info {
            details["replicas"] = String(info.config.numReplicas)
            details["streamBytes"] = String(info.state.bytes)
            if let leader = info.cluster?.leader { details["leader"] = leader }
        }
        return StoreStats(headPosition: marker.head, firstPosition: 1, streamCount: Int(marker.streams),
                          bytesOnDisk: Int64(info?.state.bytes ?? 0), details: details)
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
        await stopFollowing()
        notifier.close()
        markers.close()
        try? await connection.close()
    }
}
