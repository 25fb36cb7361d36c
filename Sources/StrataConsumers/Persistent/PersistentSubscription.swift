import Foundation
import Strata

/// One persistent subscription group at work: it reads its source from its checkpoint, hands
/// events to the consumers that ask (``read(consumer:maxCount:wait:)``), and tracks each event
/// until a consumer acks it, nacks it (retry, park, skip) or lets its timeout pass
/// (docs/CONSUMERS.md, "Persistent subscriptions"). KurrentDB's persistent subscriptions.
///
/// - The checkpoint (saved in the checkpoint store under the consumer name `<stream>::<group>`)
///   is the last revision or position up to which every event is done: acked, skipped or
///   parked. It never passes an event in flight or waiting for a retry; after a restart the
///   events after it are handed out again (at least once).
/// - An event nacked with retry, or whose timeout passed, is handed out again with its retry
///   count one higher; after `maxRetryCount` retries it is parked (the checkpoint store's parked
///   events, under the same consumer name). ``replayParked(limit:)`` hands parked events out again.
///
/// ``PersistentSubscriptions`` creates, persists and runs the groups; a server or an
/// application calls this type's methods.
public actor PersistentSubscription {
    /// The group's name.
    public nonisolated let name: PersistentSubscriptionName
    /// What it reads.
    public nonisolated let source: PersistentSubscriptionSource
    /// Its settings.
    public nonisolated let settings: PersistentSubscriptionSettings

    private let store: any EventStore
    private let checkpoints: any CheckpointStore

    private struct Entry: Sendable {
        var event: RecordedEvent
        /// The revision (a stream) or position (`$all`): what the checkpoint counts.
        var key: UInt64
        var retryCount: Int
        /// Handed out again from the parked events: done already as far as the checkpoint is concerned.
        var replayed: Bool
    }

    private struct InFlight {
        var entry: Entry
        var consumer: String
        var deadline: ContinuousClock.Instant
    }

    private struct Consumer {
        var firstSeen: ContinuousClock.Instant
        var lastSeen: ContinuousClock.Instant
        var lastSeenMicroseconds: Int64
        var acked: UInt64 = 0
        var nacked: UInt64 = 0
    }

    private var readKey: UInt64 = 0
    private var caughtUp = false
    private var buffer: [Entry] = []
    private var retries: [Entry] = []
    private var inFlight: [UUID: InFlight] = [:]
    /// Keys read and not yet done.
    private var incomplete = Set<UInt64>()
    private var savedCheckpoint: UInt64?
    private var completedSinceSave = 0
    private var lastSave = ContinuousClock.now
    private var consumers: [String: Consumer] = [:]
    private var totalAcked: UInt64 = 0
    private var totalNacked: UInt64 = 0
    private var totalTimedOut: UInt64 = 0
    private var parkedCount = 0
    private var started = false
    /// A read of the store is under way (the actor is reentrant: one read at a time).
    private var filling = false
    private var loading: Task<Void, any Error>?

    /// Creates a group's runner; ``start()`` loads its checkpoint.
    public init(name: PersistentSubscriptionName, source: PersistentSubscriptionSource, settings: PersistentSubscriptionSettings,
                store: any EventStore, checkpoints: any CheckpointStore) {
        self.name = name
        self.source = source
        self.settings = settings
        self.store = store
        self.checkpoints = checkpoints
    }

    private var consumerName: String { name.description }

    /// Loads the checkpoint (or places a new group at its start) and counts the parked events.
    public func start() async throws {
        if started { return }
        if let loading { return try await loading.value }
        let task = Task { try await load() }
        loading = task
        do { try await task.value } catch {
            loading = nil
            throw error
        }
    }

    private func load() async throws {
        try await checkpoints.bind(to: store, consumer: consumerName)
        if let checkpoint = try await checkpoints.checkpoint(for: consumerName) {
            readKey = checkpoint
            savedCheckpoint = checkpoint
        } else {
            switch settings.startFrom {
            case .start: readKey = 0
            case .after(let key): readKey = key
            case .end:
                switch source {
                case .all: readKey = try await store.headPosition()
                case .stream(let stream): readKey = (try? await store.streamInfo(stream).lastRevision) ?? 0
                }
            }
            try await checkpoints.resetCheckpoint(for: consumerName, to: readKey)
            savedCheckpoint = readKey
        }
        var after: UInt64?
        while true {
            let page = try await checkpoints.parked(consumer: consumerName, after: after, limit: 1_000)
            parkedCount += page.count
            guard page.count == 1_000, let last = page.last else { break }
            after = last.position
        }
        started = true
    }

    // MARK: Consumers

    /// Hands up to `maxCount` events to `consumer`: retries first, then new events, as the
    /// consumer strategy allows. When none is ready it waits up to `wait` for one.
    /// - Throws: ``PersistentSubscriptionError/maximumSubscribersReached(_:)`` for a new
    ///   consumer beyond `maxSubscriberCount`, or the store's error.
    public func read(consumer: String, maxCount: Int, wait: Duration = .zero) async throws -> [PersistentSubscriptionMessage] {
        try await start()
        let deadline = ContinuousClock.now + wait
        while true {
            try connect(consumer)
            try await expireTimeouts()
            try await fill()
            let taken = take(for: consumer, maxCount: max(1, maxCount))
            try await saveCheckpointIfDue()
            if !taken.isEmpty || ContinuousClock.now >= deadline { return taken }
            // Wait for an append, a retry coming due, or the deadline.
            let head = caughtUp ? try await store.headPosition() : 0
            let until = min(deadline, nextTimeout() ?? deadline, ContinuousClock.now + .milliseconds(250))
            try await withThrowingTaskGroup(of: Void.self) { group in
                if caughtUp { group.addTask { [store] in try await store.waitForAppends(after: head) } }
                group.addTask { try await Task.sleep(until: until) }
                defer { group.cancelAll() }
                try await group.next()
            }
            try Task.checkCancellation()
        }
    }

    /// Marks events of `consumer` done. Ids it does not hold are ignored.
    public func ack(consumer: String, ids: [UUID]) async throws {
        for id in ids {
            guard let flight = inFlight[id], flight.consumer == consumer else { continue }
            inFlight[id] = nil
            consumers[consumer]?.acked += 1
            totalAcked += 1
            try await complete(flight.entry)
        }
        try await saveCheckpointIfDue()
    }

    /// Gives events of `consumer` back: park, retry (parked after `maxRetryCount` retries),
    /// skip, or retry and disconnect the consumer (`stop`). Ids it does not hold are ignored.
    public func nack(consumer: String, ids: [UUID], action: PersistentSubscriptionNackAction, reason: String) async throws {
        for id in ids {
            guard let flight = inFlight[id], flight.consumer == consumer else { continue }
            inFlight[id] = nil
            consumers[consumer]?.nacked += 1
            totalNacked += 1
            switch action {
            case .park: try await park(flight.entry, reason: reason)
            case .skip: try await complete(flight.entry)
            case .retry, .stop: try await retry(flight.entry, reason: reason)
            }
        }
        if action == .stop { disconnect(consumer) }
        try await saveCheckpointIfDue()
    }

    /// Forgets a consumer: its events in flight are handed out again.
    public func disconnect(_ consumer: String) {
        for (id, flight) in inFlight where flight.consumer == consumer {
            inFlight[id] = nil
            retries.append(flight.entry)   // not a retry of the event: the consumer went away
        }
        consumers[consumer] = nil
    }

    /// Hands parked events out again (oldest first, at most `limit`): they leave the parked
    /// set when acked or skipped, and are parked again when they fail again.
    /// - Returns: how many were queued.
    @discardableResult
    public func replayParked(limit: Int = .max) async throws -> Int {
        try await start()
        var queued = 0
        var after: UInt64?
        let queuedIDs = Set(retries.map(\.event.id)).union(inFlight.keys)
        pages: while queued < limit {
            let page = try await checkpoints.parked(consumer: consumerName, after: after, limit: 100)
            for entry in page {
                if queued >= limit { break pages }
                let read = try await store.readAllPage(from: .at(entry.position), direction: .forward, filter: EventFilter(), maxCount: 1)
                guard let event = read.events.first, event.position == entry.position else {
                    // Gone (deleted or expired): nothing to replay.
                    try await checkpoints.unpark(consumer: consumerName, position: entry.position)
                    parkedCount = max(0, parkedCount - 1)
                    continue
                }
                guard !queuedIDs.contains(event.id) else { continue }
                let key = source.isAll ? event.position : event.revision
                retries.append(Entry(event: event, key: key, retryCount: 0, replayed: true))
                queued += 1
            }
            guard page.count == 100, let last = page.last else { break }
            after = last.position
        }
        return queued
    }

    /// Saves the checkpoint now (the registry calls it before it lets the group go).
    public func saveCheckpoint() async throws {
        let checkpoint = currentCheckpoint
        guard started, checkpoint != savedCheckpoint else { return }
        try await checkpoints.resetCheckpoint(for: consumerName, to: checkpoint)
        savedCheckpoint = checkpoint
        completedSinceSave = 0
        lastSave = ContinuousClock.now
    }

    /// The group's state and counters.
    public func stats() async throws -> PersistentSubscriptionStats {
        try await start()
        try await expireTimeouts()
        var perConsumer: [String: Int] = [:]
        for flight in inFlight.values { perConsumer[flight.consumer, default: 0] += 1 }
        return PersistentSubscriptionStats(
            name: name, settings: settings, status: caughtUp ? "live" : "catchingUp", lastCheckpoint: savedCheckpoint,
            lastKnownEvent: readKey, readBufferCount: buffer.count, retryBufferCount: retries.count, inFlightCount: inFlight.count,
            totalAcked: totalAcked, totalNacked: totalNacked, totalTimedOut: totalTimedOut, parkedCount: parkedCount,
            connections: consumers.keys.sorted().map { name in
                let c = consumers[name]!
                return .init(consumer: name, inFlight: perConsumer[name] ?? 0, acked: c.acked, nacked: c.nacked,
                             lastSeenMicroseconds: c.lastSeenMicroseconds)
            })
    }

    // MARK: Inside

    private func connect(_ consumer: String) throws {
        let now = ContinuousClock.now
        // A consumer that has not asked for two message timeouts, and holds nothing, is gone.
        let quiet = Duration.milliseconds(settings.messageTimeoutMilliseconds) * 2
        let holding = Set(inFlight.values.map(\.consumer))
        for (name, state) in consumers where name != consumer && now - state.lastSeen > quiet && !holding.contains(name) {
            consumers[name] = nil
        }
        if consumers[consumer] == nil {
            if settings.maxSubscriberCount > 0, consumers.count >= settings.maxSubscriberCount {
                throw PersistentSubscriptionError.maximumSubscribersReached(name)
            }
            consumers[consumer] = Consumer(firstSeen: now, lastSeen: now, lastSeenMicroseconds: currentMicroseconds())
        } else {
            consumers[consumer]!.lastSeen = now
            consumers[consumer]!.lastSeenMicroseconds = currentMicroseconds()
        }
    }

    /// Events in flight past their deadline come back for a retry (or are parked after the last).
    private func expireTimeouts() async throws {
        let now = ContinuousClock.now
        // Taken out before the first suspension: a concurrent call (the actor is reentrant) sees them gone.
        let expired = inFlight.filter { $0.value.deadline <= now }
        for id in expired.keys { inFlight[id] = nil }
        for flight in expired.values {
            totalTimedOut += 1
            try await retry(flight.entry, reason: "message timeout: no ack or nack from \(flight.consumer) within \(settings.messageTimeoutMilliseconds) ms")
        }
    }

    private func nextTimeout() -> ContinuousClock.Instant? { inFlight.values.map(\.deadline).min() }

    /// Reads ahead while the buffer has room.
    private func fill() async throws {
        guard !filling else { return }
        filling = true
        defer { filling = false }
        while !caughtUp || buffer.isEmpty {
            let room = settings.bufferSize - buffer.count - retries.count - inFlight.count
            guard room > 0 else { return }
            let count = min(settings.readBatchSize, room)
            let events: [RecordedEvent]
            let reachedEnd: Bool
            switch source {
            case .all(let filter):
                let page = try await store.readAllPage(from: .at(readKey + 1), direction: .forward, filter: filter, maxCount: count)
                events = page.events
                reachedEnd = page.next == nil
                for event in events { buffer.append(Entry(event: event, key: event.position, retryCount: 0, replayed: false)) }
                for event in events { incomplete.insert(event.position) }
                readKey = max(readKey, page.next.map { $0 - 1 } ?? max(page.scannedThrough, events.last?.position ?? 0))
            case .stream(let stream):
                do {
                    let page = try await store.readStreamPage(stream, from: .at(readKey + 1), direction: .forward, maxCount: count)
                    events = page.events
                    reachedEnd = page.next == nil
                } catch StrataError.streamNotFound {
                    events = []
                    reachedEnd = true
                }
                for event in events {
                    buffer.append(Entry(event: event, key: event.revision, retryCount: 0, replayed: false))
                    incomplete.insert(event.revision)
                }
                if let last = events.last { readKey = last.revision }
            }
            caughtUp = reachedEnd
            if reachedEnd { return }
        }
    }

    /// Takes up to `maxCount` entries `consumer` may have under the strategy.
    private func take(for consumer: String, maxCount: Int) -> [PersistentSubscriptionMessage] {
        let live = consumers.sorted { ($0.value.firstSeen, $0.key) < ($1.value.firstSeen, $1.key) }.map(\.key)
        let mayTake: (Entry) -> Bool
        switch settings.consumerStrategy {
        case .roundRobin:
            mayTake = { _ in true }
        case .dispatchToSingle:
            let allowed = live.first == consumer
            mayTake = { _ in allowed }
        case .pinned:
            let ordered = live.sorted()
            let index = ordered.firstIndex(of: consumer) ?? 0
            mayTake = { ConsumerGroups.partition(of: $0.event.stream, count: ordered.count) == index }
        }
        var taken: [PersistentSubscriptionMessage] = []
        let deadline = ContinuousClock.now + .milliseconds(settings.messageTimeoutMilliseconds)
        func drain(_ queue: inout [Entry]) {
            var kept: [Entry] = []
            for entry in queue {
                if taken.count < maxCount, mayTake(entry) {
                    inFlight[entry.event.id] = InFlight(entry: entry, consumer: consumer, deadline: deadline)
                    taken.append(PersistentSubscriptionMessage(event: entry.event, retryCount: entry.retryCount))
                } else {
                    kept.append(entry)
                }
            }
            queue = kept
        }
        drain(&retries)
        drain(&buffer)
        return taken
    }

    private func retry(_ entry: Entry, reason: String) async throws {
        if entry.retryCount >= settings.maxRetryCount {
            try await park(entry, reason: reason)
        } else {
            var again = entry
            again.retryCount += 1
            retries.append(again)
        }
    }

    private func park(_ entry: Entry, reason: String) async throws {
        try await checkpoints.park(ParkedEvent(consumer: consumerName, position: entry.event.position, stream: entry.event.stream,
                                               revision: entry.event.revision, type: entry.event.type, error: reason,
                                               attempts: entry.retryCount + 1))   // handed out retryCount + 1 times
        if !entry.replayed { parkedCount += 1 }
        completeKey(entry)
    }

    private func complete(_ entry: Entry) async throws {
        if entry.replayed {
            try await checkpoints.unpark(consumer: consumerName, position: entry.event.position)
            parkedCount = max(0, parkedCount - 1)
        }
        completeKey(entry)
    }

    private func completeKey(_ entry: Entry) {
        guard !entry.replayed else { return }
        incomplete.remove(entry.key)
        completedSinceSave += 1
    }

    /// Every key up to here is done.
    private var currentCheckpoint: UInt64 { incomplete.min().map { $0 - 1 } ?? readKey }

    private func saveCheckpointIfDue() async throws {
        guard completedSinceSave > 0 else { return }
        let elapsed = ContinuousClock.now - lastSave
        if completedSinceSave >= settings.maxCheckpointCount
            || (completedSinceSave >= settings.minCheckpointCount && elapsed >= .milliseconds(settings.checkpointAfterMilliseconds)) {
            try await saveCheckpoint()
        }
    }
}

extension PersistentSubscriptionSource {
    var isAll: Bool {
        if case .all = self { return true }
        return false
    }
}
