import Foundation
import Strata

/// One member of a consumer group: competing consumers in one process or many, on one host or
/// several, that share the work of reading `$all` (docs/CONSUMERS.md, "Consumer groups").
///
/// ```swift
/// let member = ConsumerGroupMember(group: "invoices", member: "host-a-1", store: store,
///                                  checkpoints: try SQLiteCheckpointStore(sharing: store)) { events, transaction in
///     for event in events { try record(event, in: transaction) }
/// }
/// member.start()
/// ```
///
/// Streams hash into ``partitions`` partitions; each partition has its own checkpoint (consumer
/// `<group>#<partition>` in the checkpoint store) and its own lease, and only the lease's holder
/// handles the partition's events, so a stream is handled by one member at a time, in order. The
/// live members (each holds a member lease) split the partitions among them; a member that stops
/// or dies loses its leases and the others take its partitions over from their checkpoints.
///
/// - Delivery: at least once (effectively once with a transactional checkpoint store, whose
///   handler writes commit with the partition's checkpoint); in order per stream; a partition's
///   checkpoint never passes an event of it that was neither handled nor parked.
/// - Failures: as ``CheckpointedConsumer``: a failed batch is retried event by event, and an
///   event that still fails is parked or stops the member (``ConsumerOptions``).
public final class ConsumerGroupMember<Checkpoints: CheckpointStore & LeaseStore>: Sendable {
    /// The handler: events of one partition in position order, and the checkpoint store's transaction.
    public typealias Handler = @Sendable ([RecordedEvent], Checkpoints.Transaction) async throws -> Void

    /// The group's name: the prefix of its checkpoints and leases.
    public let group: String
    /// This member's name, unique in the group (e.g. host and process id).
    public let member: String
    /// The store read.
    public let store: any EventStore
    /// Where the partitions' checkpoints, parked events and leases live.
    public let checkpoints: Checkpoints
    /// Reading and failure options.
    public let options: ConsumerOptions
    /// How many partitions streams hash into; every member of the group must use the same.
    public let partitions: Int
    /// How long a timed lease lasts unless renewed; members renew at a third of it, and a dead
    /// member's partitions pass to the others within about this long (at once with file locks).
    public let leaseDuration: Duration

    private let handler: Handler
    private let progress = ConsumerProgress()
    private let meters: ConsumerMetrics
    private let task = BackgroundTask()
    private let held = LockedBox<[Int: UInt64]>([:])

    /// Creates a member; it does nothing until ``start(onStop:)`` or ``run()``.
    /// - Parameters:
    ///   - partitions: 1…4096 (16 by default).
    ///   - leaseDuration: at least 100 ms (10 s by default).
    public init(group: String, member: String, store: any EventStore, checkpoints: Checkpoints,
                options: ConsumerOptions = ConsumerOptions(), partitions: Int = 16, leaseDuration: Duration = .seconds(10),
                handler: @escaping Handler) {
        self.group = group
        self.member = member
        self.store = store
        self.checkpoints = checkpoints
        self.options = options
        self.partitions = min(4096, max(1, partitions))
        self.leaseDuration = max(leaseDuration, .milliseconds(100))
        self.handler = handler
        self.meters = ConsumerMetrics(factory: options.metrics, consumer: group)
    }

    // MARK: Names

    /// The partition `stream` belongs to in this group (``ConsumerGroups/partition(of:count:)``).
    public func partition(of stream: String) -> Int { ConsumerGroups.partition(of: stream, count: partitions) }

    private func leaseName(partition: Int) -> String { "\(group)/partitions/\(partition)" }
    private var membersPrefix: String { "\(group)/members/" }
    private var memberLease: String { "\(membersPrefix)\(partitions)/\(member)" }

    // MARK: Running

    /// Runs the member in the calling task until the task is cancelled (then it releases its
    /// leases and returns) or an error stops it (then it releases them and throws).
    public func run() async throws {
        progress.update { $0 = ConsumerProgress.Snapshot(); $0.isRunning = true }
        options.logger?.info("consumer group member started", metadata: ["group": .string(group), "member": .string(member)])
        var state = MemberState()
        do {
            try await loop(&state)
        } catch {
            let cancelled = error is CancellationError || Task.isCancelled
            await letGo(state)
            progress.stop(reason: cancelled ? "stopped" : "\(error)", error: cancelled ? nil : error)
            if cancelled { return }
            options.logger?.error("consumer group member stopped by an error", metadata: [
                "group": .string(group), "member": .string(member), "error": .string("\(error)"),
            ])
            meters.stops.increment()
            throw error
        }
    }

    /// Starts the member in a background task. Starting a started member does nothing.
    /// - Parameter onStop: called with the error when one stops the member (not when ``stop()`` does).
    public func start(onStop: (@Sendable (any Error) -> Void)? = nil) {
        task.start { [self] in
            do { try await run() } catch {
                progress.update { $0.lastError = "\(error)" }
                onStop?(error)
            }
        }
    }

    /// Stops a member started with ``start(onStop:)`` and waits: the batch in hand is
    /// interrupted (its checkpoint is not saved), the other partitions' checkpoints are saved,
    /// and every lease is released so that the other members take over at once.
    public func stop() async { await task.stop() }

    // MARK: Watching

    /// The partitions this member holds now, sorted.
    public func heldPartitions() -> [Int] { held.withLock { $0.keys.sorted() } }

    /// The last error of a handler or the store, if any; nil while all is well.
    public var lastError: String? { progress.current.lastError }

    /// Waits until this member holds exactly `count` partitions.
    public func waitUntilHolding(_ count: Int, timeout: Duration = .seconds(30)) async throws {
        try await progress.wait(for: "member \(member) of \(group) to hold \(count) partitions", timeout: timeout) { $0.held == count }
    }

    /// The group's members and partitions as the checkpoint store records them now: each
    /// partition's holder and checkpoint, and the store's head.
    public func status() async throws -> ConsumerGroupStatus {
        let members = try await checkpoints.leases(prefix: membersPrefix).map(\.owner)
        let holders = Dictionary(try await checkpoints.leases(prefix: "\(group)/partitions/").map { ($0.name, $0.owner) },
                                 uniquingKeysWith: { first, _ in first })
        var result: [ConsumerGroupStatus.Partition] = []
        for partition in 0 ..< partitions {
            result.append(.init(partition: partition, holder: holders[leaseName(partition: partition)],
                                checkpoint: try await checkpoints.checkpoint(for: ConsumerGroups.consumerName(group: group, partition: partition))))
        }
        return ConsumerGroupStatus(group: group, members: Array(Set(members)).sorted(), partitions: result,
                                   head: try await store.headPosition())
    }

    // MARK: The loop

    private struct Partition {
        var lease: Lease
        /// Every event of the partition up to here is handled or parked.
        var checkpoint: UInt64
        /// The checkpoint the store holds.
        var saved: UInt64
    }

    private struct MemberState {
        var partitions: [Int: Partition] = [:]
        var nextRound = ContinuousClock.now
    }

    private func loop(_ state: inout MemberState) async throws {
        let round = leaseDuration / 3
        while true {
            try Task.checkCancellation()
            if ContinuousClock.now >= state.nextRound {
                try await rebalance(&state)
                state.nextRound = ContinuousClock.now + round
            }
            guard let from = state.partitions.values.map(\.checkpoint).min() else {
                progress.update { $0.isIdle = true }
                try await Task.sleep(until: state.nextRound)
                continue
            }
            let page = try await store.readAllPage(from: .at(from + 1), direction: .forward, filter: options.filter,
                                                   maxCount: options.batchSize)
            var shares: [Int: [RecordedEvent]] = [:]
            for event in page.events {
                let partition = partition(of: event.stream)
                if let owned = state.partitions[partition], event.position > owned.checkpoint { shares[partition, default: []].append(event) }
            }
            for (partition, events) in shares.sorted(by: { $0.key < $1.key }) {
                guard try await renewIfDue(partition, &state) else { continue }
                progress.update { $0.isIdle = false }
                try await BatchHandling(consumer: ConsumerGroups.consumerName(group: group, partition: partition), checkpoints: checkpoints,
                                        options: options, handler: handler, progress: progress, notify: { [self] in notify($0) })
                    .handle(events)
                state.partitions[partition]?.checkpoint = events[events.count - 1].position
                state.partitions[partition]?.saved = events[events.count - 1].position
                meters.handled.increment(by: events.count)
            }
            // Every event of a held partition up to `covered` was in the page.
            let covered = page.next.map { $0 - 1 } ?? max(page.scannedThrough, page.events.last?.position ?? 0)
            for partition in state.partitions.keys where state.partitions[partition]!.checkpoint < covered {
                state.partitions[partition]!.checkpoint = covered
            }
            publish(state)
            guard page.next == nil else { continue }
            try await saveAdvanced(&state)
            meters.position.record(covered)
            progress.update { $0.position = covered; $0.hasCaughtUp = true; $0.isIdle = true }
            try await waitForAppends(after: covered, orUntil: state.nextRound)
        }
    }

    /// Renews the member lease, lists the live members, lets go of the partitions that are no
    /// longer this member's and takes the ones that are.
    private func rebalance(_ state: inout MemberState) async throws {
        guard try await checkpoints.acquire(memberLease, owner: member, for: leaseDuration) != nil else {
            throw StrataError.invalidArgument("another member of group \(group) is named \(member); every member needs its own name")
        }
        let live = try await checkpoints.leases(prefix: membersPrefix)
        for lease in live {
            let count = lease.name.dropFirst(membersPrefix.count).prefix { $0 != "/" }
            guard Int(count) == partitions else {
                throw StrataError.invalidArgument("member \(lease.owner) of group \(group) uses \(count) partitions and \(member) uses \(partitions); every member of a group needs the same count")
            }
        }
        var names = Array(Set(live.map(\.owner))).sorted()
        if !names.contains(member) { names = (names + [member]).sorted() }
        let mine = Set((0 ..< partitions).filter { names[$0 % names.count] == member })
        for partition in state.partitions.keys.sorted() where !mine.contains(partition) {
            try await save(partition, &state)
            try await checkpoints.release(leaseName(partition: partition), owner: member)
            state.partitions[partition] = nil
        }
        for partition in mine.sorted() {
            if state.partitions[partition] != nil {
                _ = try await renewIfDue(partition, &state, always: true)
                continue
            }
            guard let lease = try await checkpoints.acquire(leaseName(partition: partition), owner: member, for: leaseDuration) else { continue }
            let consumer = ConsumerGroups.consumerName(group: group, partition: partition)
            try await checkpoints.bind(to: store, consumer: consumer)
            let checkpoint = try await checkpoints.checkpoint(for: consumer) ?? 0
            try await store.checkResumable(from: checkpoint, consumer: consumer)
            state.partitions[partition] = Partition(lease: lease, checkpoint: checkpoint, saved: checkpoint)
        }
        publish(state)
    }

    /// Renews a timed lease when less than half of it remains (or `always`). Drops the
    /// partition, unsaved, when the lease lapsed meanwhile: another member holds it now, or held
    /// it (a new token) and may have moved its checkpoint; the next round takes it afresh.
    private func renewIfDue(_ partition: Int, _ state: inout MemberState, always: Bool = false) async throws -> Bool {
        guard let owned = state.partitions[partition] else { return false }
        guard let expires = owned.lease.expiresAtMicroseconds else { return true }
        if !always, expires - currentMicroseconds() > leaseDuration.microseconds / 2 { return true }
        let lease = try await checkpoints.acquire(leaseName(partition: partition), owner: member, for: leaseDuration)
        guard let lease, lease.token == owned.lease.token else {
            options.logger?.warning("consumer group member lost a partition's lease", metadata: [
                "group": .string(group), "member": .string(member), "partition": .stringConvertible(partition),
            ])
            if lease != nil { try await checkpoints.release(leaseName(partition: partition), owner: member) }
            state.partitions[partition] = nil
            publish(state)
            return false
        }
        state.partitions[partition]?.lease = lease
        return true
    }

    /// Saves the checkpoints that moved in memory only (past events of other partitions).
    private func saveAdvanced(_ state: inout MemberState) async throws {
        for partition in state.partitions.keys.sorted() { try await save(partition, &state) }
    }

    private func save(_ partition: Int, _ state: inout MemberState) async throws {
        guard let owned = state.partitions[partition], owned.checkpoint > owned.saved else { return }
        guard try await renewIfDue(partition, &state) else { return }
        try await checkpoints.commit(consumer: ConsumerGroups.consumerName(group: group, partition: partition), through: owned.checkpoint) { _ in }
        state.partitions[partition]?.saved = owned.checkpoint
    }

    /// Saves what it can and releases every lease, outside the (cancelled) member task.
    private func letGo(_ state: MemberState) async {
        await Task { [self] in
            var state = state
            try? await saveAdvanced(&state)
            for partition in state.partitions.keys { try? await checkpoints.release(leaseName(partition: partition), owner: member) }
            try? await checkpoints.release(memberLease, owner: member)
            held.withLock { $0 = [:] }
            progress.update { $0.held = 0 }
        }.value
    }

    private func publish(_ state: MemberState) {
        let snapshot = state.partitions.mapValues(\.checkpoint)
        held.withLock { $0 = snapshot }
        progress.update { $0.held = snapshot.count }
    }

    private func waitForAppends(after position: UInt64, orUntil deadline: ContinuousClock.Instant) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [store] in try await store.waitForAppends(after: position) }
            group.addTask { try await Task.sleep(until: deadline) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func notify(_ notification: ConsumerNotification) {
        switch notification {
        case .retrying: meters.retries.increment()
        case .parked(let entry):
            meters.parked.increment()
            options.logger?.error("consumer parked an event after its last attempt", metadata: [
                "consumer": .string(entry.consumer), "position": .stringConvertible(entry.position), "stream": .string(entry.stream),
                "attempts": .stringConvertible(entry.attempts), "error": .string(entry.error),
            ])
        default: break
        }
        progress.notify(notification)
    }
}

/// How a consumer group's streams map to partitions, and where each partition's checkpoint lives.
public enum ConsumerGroups {
    /// The partition `stream` belongs to among `count`: FNV-1a (64-bit) of its UTF-8 bytes,
    /// modulo `count`. Every member, in every process and version, computes the same.
    public static func partition(of stream: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash % UInt64(max(1, count)))
    }

    /// The checkpoint-store consumer name of a partition of `group`: `<group>#<partition>`.
    public static func consumerName(group: String, partition: Int) -> String { "\(group)#\(partition)" }
}

/// A consumer group as its checkpoint store records it (``ConsumerGroupMember/status()``).
public struct ConsumerGroupStatus: Sendable, Hashable, Codable {
    /// One partition: who holds it and how far it is handled.
    public struct Partition: Sendable, Hashable, Codable {
        /// The partition number.
        public var partition: Int
        /// The member holding its lease now, if any.
        public var holder: String?
        /// Its checkpoint, nil before the first.
        public var checkpoint: UInt64?
    }

    /// The group's name.
    public var group: String
    /// The live members, sorted.
    public var members: [String]
    /// Every partition, in order.
    public var partitions: [Partition]
    /// The store's head position.
    public var head: UInt64
}
