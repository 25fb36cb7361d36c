import Foundation
import Strata

/// Competing consumers: members share one checkpointed reading of `$all`, partitioned by
/// stream, so that different streams are handled in parallel and each stream stays in order.
///
/// Streams hash (FNV-1a) into ``partitionCount`` partitions, and partitions are dealt round-robin
/// to the members sorted by name. Each batch is split by owner; members handle their share
/// concurrently, each one event at a time. A member that leaves (``leave(_:)``) stops after its
/// current event; its partitions, and the events of the batch it had not handled, go to the
/// members that remain. The group's checkpoint is saved when every event of the batch has been
/// handled or parked, so it is at-least-once like ``CheckpointedConsumer`` over a file store.
///
/// Members live in one process (tasks). Members in different processes would need a lease
/// protocol in the checkpoint store, which Strata does not offer yet.
public final class ConsumerGroup<Checkpoints: CheckpointStore>: Sendable where Checkpoints.Transaction == Void {
    /// A member's handler: one event.
    public typealias Handler = @Sendable (RecordedEvent) async throws -> Void

    /// The group's name: the key of its checkpoint and parked events.
    public let name: String
    /// The store read.
    public let store: any EventStore
    /// Where the checkpoint and parked events live.
    public let checkpoints: Checkpoints
    /// Reading and failure options.
    public let options: ConsumerOptions
    /// How many partitions streams hash into.
    public let partitionCount: Int

    private let members = LockedBox<[String: Handler]>([:])
    private let membership = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    private let consumer: LockedBox<CheckpointedConsumer<Checkpoints>?> = LockedBox(nil)

    /// Creates a group; it does nothing until ``start()``.
    public init(name: String, store: any EventStore, checkpoints: Checkpoints,
                options: ConsumerOptions = ConsumerOptions(), partitionCount: Int = 64) {
        self.name = name
        self.store = store
        self.checkpoints = checkpoints
        self.options = options
        self.partitionCount = max(1, partitionCount)
    }

    /// Adds a member (or replaces the handler of one with that name).
    public func join(_ member: String, handler: @escaping Handler) {
        members.withLock { $0[member] = handler }
        membership.continuation.yield()
    }

    /// Removes a member: it finishes the event in hand, and its partitions pass to the others.
    public func leave(_ member: String) {
        _ = members.withLock { $0.removeValue(forKey: member) }
        membership.continuation.yield()
    }

    /// The partitions each member owns now.
    public func assignments() -> [String: [Int]] {
        let names = members.withLock { $0.keys.sorted() }
        guard !names.isEmpty else { return [:] }
        var result: [String: [Int]] = [:]
        for partition in 0 ..< partitionCount { result[names[partition % names.count], default: []].append(partition) }
        return result
    }

    /// The partition a stream belongs to.
    public func partition(of stream: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stream.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(hash % UInt64(partitionCount))
    }

    /// Starts the group's reading task. Members may join before or after.
    public func start() { shared().start() }

    /// Stops the group and waits.
    public func stop() async { await consumer.withLock { $0 }?.stop() }

    /// The underlying consumer: waits, notifications, status and parked events.
    public var base: CheckpointedConsumer<Checkpoints> { shared() }

    private func shared() -> CheckpointedConsumer<Checkpoints> {
        consumer.withLock { existing in
            if let existing { return existing }
            let created = CheckpointedConsumer(name: name, store: store, checkpoints: checkpoints,
                                               options: ConsumerOptions(filter: options.filter, batchSize: options.batchSize,
                                                                        retry: .none, parkFailures: false)) { [self] events, _ in
                try await dispatch(events)
            }
            existing = created
            return created
        }
    }

    /// Hands a batch to its owners until every event is handled or parked.
    private func dispatch(_ events: [RecordedEvent]) async throws {
        var pending = events
        while !pending.isEmpty {
            let handlers = try await currentMembers()
            let names = handlers.keys.sorted()
            var shares: [String: [RecordedEvent]] = [:]
            for event in pending { shares[names[partition(of: event.stream) % names.count], default: []].append(event) }
            let leftovers = try await withThrowingTaskGroup(of: [RecordedEvent].self) { group in
                for (member, share) in shares {
                    let handler = handlers[member]!
                    group.addTask { try await self.handle(share, member: member, handler: handler) }
                }
                var leftovers: [RecordedEvent] = []
                for try await rest in group { leftovers += rest }
                return leftovers
            }
            pending = leftovers.sorted { $0.position < $1.position }
        }
    }

    /// One member's share, in order; returns what it did not handle because it left.
    private func handle(_ share: [RecordedEvent], member: String, handler: Handler) async throws -> [RecordedEvent] {
        for (index, event) in share.enumerated() {
            guard members.withLock({ $0[member] != nil }) else { return Array(share[index...]) }
            let outcome = try await options.retry.run(onFailure: { _, _ in }) { try await handler(event) }
            if case .failure(let error, let attempts) = outcome {
                guard options.parkFailures else { throw error }
                try await checkpoints.park(ParkedEvent(consumer: name, position: event.position, stream: event.stream,
                                                       revision: event.revision, type: event.type,
                                                       error: "\(error)", attempts: attempts))
            }
        }
        return []
    }

    /// The members now, waiting for one to join when there are none.
    private func currentMembers() async throws -> [String: Handler] {
        while true {
            let current = members.withLock { $0 }
            if !current.isEmpty { return current }
            var iterator = membership.stream.makeAsyncIterator()
            if members.withLock({ !$0.isEmpty }) { continue }
            guard await iterator.next() != nil else { throw CancellationError() }
            try Task.checkCancellation()
        }
    }
}
