import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing

@Suite("Consumer groups and leases")
struct ConsumerGroupTests {
    @Test("memory leases: exclusive, renewed with the same token, released and lapsed to the next owner with a greater token")
    func memoryLeases() async throws {
        let store = MemoryCheckpointStore()
        try await LeaseStoreChecks.run(store, store, timed: true)
    }

    @Test("file leases: a flock held through one store value excludes another, until released")
    func fileLeases() async throws {
        let dir = TemporaryDirectory.freshPath("file-leases")
        defer { TemporaryDirectory.remove(dir) }
        let first = try FileCheckpointStore(directory: dir)
        let second = try FileCheckpointStore(directory: dir)
        try await LeaseStoreChecks.run(first, second, timed: false)
        #expect(try first.consumers().isEmpty, "the leases folder is not a consumer")
    }

    /// Every event handled, by whom, and whether that member held the event's partition then.
    struct Handled: Sendable {
        var member: String
        var position: UInt64
        var stream: String
        var revision: UInt64
        var partition: Int
        var heldByHandler: Bool
    }

    /// The members by name, for handlers to ask what their member holds.
    final class Roster: @unchecked Sendable {
        private let lock = NSLock()
        private var held: [String: @Sendable () -> [Int]] = [:]
        func add(_ name: String, _ partitions: @escaping @Sendable () -> [Int]) { lock.withLock { held[name] = partitions } }
        func holds(_ name: String, _ partition: Int) -> Bool { lock.withLock { held[name] }?().contains(partition) ?? false }
    }

    static func member<C: CheckpointStore & LeaseStore>(_ name: String, store: any EventStore, checkpoints: C, partitions: Int = 8,
                                                        handled: Collector<Handled>, roster: Roster = Roster()) -> ConsumerGroupMember<C> {
        let member = ConsumerGroupMember(group: "workers", member: name, store: store, checkpoints: checkpoints,
                                         options: ConsumerOptions(batchSize: 16), partitions: partitions, leaseDuration: .seconds(3)) { events, _ in
            for event in events {
                let partition = ConsumerGroups.partition(of: event.stream, count: partitions)
                handled.add(Handled(member: name, position: event.position, stream: event.stream, revision: event.revision,
                                    partition: partition, heldByHandler: roster.holds(name, partition)))
            }
        }
        roster.add(name) { [weak member] in member?.heldPartitions() ?? [] }
        return member
    }

    static func checkOrder(_ handled: [Handled]) {
        var highest: [String: UInt64] = [:]
        for event in handled {
            let seen = highest[event.stream] ?? 0
            #expect(event.revision <= seen + 1, "\(event.stream) revision \(event.revision) came before \(seen + 1)")
            highest[event.stream] = max(seen, event.revision)
        }
    }

    static func appendRound(_ store: any EventStore, _ round: Int) async throws {
        for s in 0 ..< 12 { try await store.append(to: "stream-\(s)", events: [tick(round * 100 + s), tick(round * 100 + s)]) }
    }

    @Test("members split the partitions, each handles only its own, and a stopped member's partitions pass to the others",
          arguments: ["memory", "file"])
    func membersShareAndHandOver(_ kind: String) async throws {
        let dir = TemporaryDirectory.freshPath("group-\(kind)")
        defer { TemporaryDirectory.remove(dir) }
        if kind == "memory" {
            let memory = MemoryCheckpointStore()
            try await Self.shareAndHandOver { memory }
        } else {
            try await Self.shareAndHandOver { try FileCheckpointStore(directory: dir) }   // a store value (descriptor) per member
        }
    }

    static func shareAndHandOver<C: CheckpointStore & LeaseStore>(_ checkpoints: () throws -> C) async throws {
        let store = InMemoryEventStore()
        let handled = Collector<Handled>()
        let roster = Roster()
        func make(_ name: String) throws -> ConsumerGroupMember<C> {
            Self.member(name, store: store, checkpoints: try checkpoints(), handled: handled, roster: roster)
        }
        let members = try ["a", "b", "c"].map(make)
        for member in members { member.start() }
        // Bounds of 60 s: the full suite runs beside this on 2 cores, and rounds are 1 s apart.
        try await Wait.until("the members to hold 3, 3 and 2 partitions, every partition once", timeout: .seconds(60)) {
            members.map { $0.heldPartitions().count } == [3, 3, 2] && Set(members.flatMap { $0.heldPartitions() }) == Set(0 ..< 8)
        }
        for round in 1 ... 3 { try await Self.appendRound(store, round) }
        try await Wait.until("the 72 events to be handled", timeout: .seconds(60)) { Set(handled.values.map(\.position)).count == 72 }
        // A loaded machine may delay a round past a lease and move partitions meanwhile: what
        // holds whatever happens is that a member handles only partitions it holds at the time.
        for event in handled.values { #expect(event.heldByHandler, "event \(event.position) went to \(event.member), which held partition \(event.partition)") }

        await members[1].stop()
        try await members[0].waitUntilHolding(4, timeout: .seconds(60))
        try await members[2].waitUntilHolding(4, timeout: .seconds(60))
        for round in 4 ... 5 { try await Self.appendRound(store, round) }
        try await Wait.until("the 120 events to be handled", timeout: .seconds(60)) { Set(handled.values.map(\.position)).count == 120 }
        try await Wait.until("a and c to be the members", timeout: .seconds(60)) { try await members[0].status().members == ["a", "c"] }
        try await Wait.until("every partition to be checkpointed through 120", timeout: .seconds(60)) {
            try await members[0].status().partitions.allSatisfy { ($0.checkpoint ?? 0) >= 120 }
        }
        for member in [members[0], members[2]] { await member.stop() }
        #expect(try await members[0].status().members.isEmpty, "stopped members release their leases")
        Self.checkOrder(handled.values)
    }

    @Test("a failing event is parked under its partition's consumer and the partition's checkpoint passes it")
    func parking() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        for round in 1 ... 2 { try await Self.appendRound(store, round) }
        let member = ConsumerGroupMember(group: "g", member: "only", store: store, checkpoints: checkpoints,
                                         options: ConsumerOptions(batchSize: 8, retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(1))),
                                         partitions: 4, leaseDuration: .milliseconds(300)) { events, _ in
            if events.contains(where: { $0.position == 5 }) { throw HandlerError(message: "poison 5") }
        }
        member.start()
        try await Wait.until("every partition to pass position 48") {
            try await member.status().partitions.allSatisfy { ($0.checkpoint ?? 0) >= 48 }
        }
        await member.stop()
        let stream = try await store.readAll().collect().first { $0.position == 5 }!.stream
        let consumer = ConsumerGroups.consumerName(group: "g", partition: ConsumerGroups.partition(of: stream, count: 4))
        let parked = try await checkpoints.parked(consumer: consumer, after: nil, limit: 10)
        #expect(parked.map(\.position) == [5] && parked.first?.error.contains("poison 5") == true)
    }

    @Test("a member with another partition count, or a second member of the same name, stops with invalidArgument")
    func misconfiguredMembers() async throws {
        let store = InMemoryEventStore()
        let dir = TemporaryDirectory.freshPath("group-misconfigured")
        defer { TemporaryDirectory.remove(dir) }
        let handled = Collector<Handled>()
        let first = Self.member("a", store: store, checkpoints: try FileCheckpointStore(directory: dir), handled: handled)
        first.start()
        try await first.waitUntilHolding(8)
        let otherCount = Self.member("b", store: store, checkpoints: try FileCheckpointStore(directory: dir), partitions: 4, handled: handled)
        await #expect(throws: StrataError.self) { try await otherCount.run() }
        let sameName = Self.member("a", store: store, checkpoints: try FileCheckpointStore(directory: dir), handled: handled)
        do {
            try await sameName.run()
            Issue.record("a second member named a ran")
        } catch let error as StrataError {
            guard case .invalidArgument(let message) = error else { throw error }
            #expect(message.contains("named a"))
        }
        #expect(first.heldPartitions().count == 8, "the first member keeps its partitions")
        await first.stop()
    }
}
