import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing

@Suite("Persistent subscriptions")
struct PersistentSubscriptionTests {
    static let all = PersistentSubscriptionName(stream: "$all", group: "g")

    static func settings(_ change: (inout PersistentSubscriptionSettings) -> Void = { _ in }) -> PersistentSubscriptionSettings {
        var settings = PersistentSubscriptionSettings()
        settings.checkpointAfterMilliseconds = 0
        settings.minCheckpointCount = 1
        change(&settings)
        return settings
    }

    static func append(_ store: any EventStore, _ count: Int, stream: (Int) -> String = { "s-\($0 % 3)" }) async throws {
        for i in 0 ..< count { try await store.append(to: stream(i), events: [tick(i)]) }
    }

    @Test("events are handed out, acked, and the saved checkpoint never passes one still in flight")
    func ackAndCheckpoint() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "one")
        try await Self.append(store, 10)
        try await registry.create(Self.all, settings: Self.settings())
        let subscription = try await registry.subscription(Self.all)
        let first = try await subscription.read(consumer: "c1", maxCount: 10)
        #expect(first.map(\.event.position) == Array(1 ... 10) && first.allSatisfy { $0.retryCount == 0 })
        try await subscription.ack(consumer: "c1", ids: first.filter { $0.event.position != 3 }.map(\.event.id))
        try await subscription.saveCheckpoint()
        #expect(try await checkpoints.checkpoint(for: "$all::g") == 2, "event 3 is still in flight")
        #expect(try await subscription.read(consumer: "c1", maxCount: 10).isEmpty, "nothing new, nothing due")
        try await subscription.ack(consumer: "c2", ids: [first[2].event.id])
        try await subscription.saveCheckpoint()
        #expect(try await checkpoints.checkpoint(for: "$all::g") == 2, "another consumer cannot ack c1's event")
        try await subscription.ack(consumer: "c1", ids: [first[2].event.id])
        try await subscription.saveCheckpoint()
        #expect(try await checkpoints.checkpoint(for: "$all::g") == 10)
        let stats = try await subscription.stats()
        #expect(stats.totalAcked == 10 && stats.inFlightCount == 0 && stats.status == "live")
        #expect(stats.connections.map(\.consumer) == ["c1"] && stats.connections[0].acked == 10, "acking alone does not connect c2")
    }

    @Test("a read waits for an append; nack retry hands the event out again with its count, and after maxRetryCount it is parked; replayed, then acked, it leaves the parked set")
    func retryParkReplay() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "one")
        try await registry.create(Self.all, settings: Self.settings { $0.maxRetryCount = 2 })
        let subscription = try await registry.subscription(Self.all)
        let waiting = Task { try await subscription.read(consumer: "c", maxCount: 5, wait: .seconds(20)) }
        try await Self.append(store, 1)
        let got = try await waiting.value
        #expect(got.count == 1)
        let id = got[0].event.id
        for attempt in 1 ... 2 {
            try await subscription.nack(consumer: "c", ids: [id], action: .retry, reason: "busy")
            let again = try await subscription.read(consumer: "c", maxCount: 5)
            #expect(again.map(\.event.id) == [id] && again.first?.retryCount == attempt)
        }
        try await subscription.nack(consumer: "c", ids: [id], action: .retry, reason: "still busy")
        #expect(try await subscription.read(consumer: "c", maxCount: 5).isEmpty, "parked after 2 retries")
        let parked = try await checkpoints.parked(consumer: "$all::g", after: nil, limit: 10)
        #expect(parked.map(\.position) == [1] && parked[0].error == "still busy" && parked[0].attempts == 3)
        #expect(try await subscription.stats().parkedCount == 1)
        try await subscription.saveCheckpoint()
        #expect(try await checkpoints.checkpoint(for: "$all::g") == 1, "a parked event is done for the checkpoint")

        #expect(try await subscription.replayParked() == 1)
        let replayed = try await subscription.read(consumer: "c", maxCount: 5)
        #expect(replayed.map(\.event.id) == [id] && replayed[0].retryCount == 0)
        try await subscription.ack(consumer: "c", ids: [id])
        #expect(try await checkpoints.parked(consumer: "$all::g", after: nil, limit: 10).isEmpty)
        #expect(try await subscription.stats().parkedCount == 0)
    }

    @Test("an event whose message timeout passes is handed out again; park and skip are done at once")
    func timeoutParkSkip() async throws {
        let store = InMemoryEventStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: MemoryCheckpointStore(), instance: "one")
        try await Self.append(store, 3)
        try await registry.create(Self.all, settings: Self.settings { $0.messageTimeoutMilliseconds = 100 })
        let subscription = try await registry.subscription(Self.all)
        let first = try await subscription.read(consumer: "c", maxCount: 3)
        try await subscription.nack(consumer: "c", ids: [first[1].event.id], action: .park, reason: "bad")
        try await subscription.nack(consumer: "c", ids: [first[2].event.id], action: .skip, reason: "unwanted")
        let again = try await subscription.read(consumer: "c", maxCount: 3, wait: .seconds(20))
        #expect(again.map(\.event.position) == [1] && again[0].retryCount == 1, "only the event left in flight comes back")
        let stats = try await subscription.stats()
        #expect(stats.totalTimedOut == 1 && stats.parkedCount == 1 && stats.totalNacked == 2)
    }

    @Test("a stream group started at the end sees only later events of its stream; maxSubscriberCount refuses one consumer more")
    func streamFromEndAndLimit() async throws {
        let store = InMemoryEventStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: MemoryCheckpointStore(), instance: "one")
        try await Self.append(store, 4) { _ in "orders" }
        let name = PersistentSubscriptionName(stream: "orders", group: "billing")
        try await registry.create(name, settings: Self.settings { $0.startFrom = .end; $0.maxSubscriberCount = 1 })
        try await Self.append(store, 2) { _ in "orders" }
        try await Self.append(store, 2) { _ in "other" }
        let subscription = try await registry.subscription(name)
        let got = try await subscription.read(consumer: "a", maxCount: 10)
        #expect(got.map(\.event.revision) == [5, 6] && got.allSatisfy { $0.event.stream == "orders" })
        await #expect(throws: PersistentSubscriptionError.maximumSubscribersReached(name)) {
            try await subscription.read(consumer: "b", maxCount: 10)
        }
        await #expect(throws: StrataError.self) {
            try await registry.create(PersistentSubscriptionName(stream: "orders", group: "x"), filter: EventFilter(eventTypes: ["t"]), settings: Self.settings())
        }
        await #expect(throws: PersistentSubscriptionError.alreadyExists(name)) { try await registry.create(name, settings: Self.settings()) }
    }

    @Test("pinned: each stream's events go to one consumer; dispatchToSingle: all to the first")
    func strategies() async throws {
        let store = InMemoryEventStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: MemoryCheckpointStore(), instance: "one")
        try await Self.append(store, 40) { "stream-\($0 % 8)" }
        let pinned = PersistentSubscriptionName(stream: "$all", group: "pinned")
        try await registry.create(pinned, settings: Self.settings { $0.consumerStrategy = .pinned })
        let subscription = try await registry.subscription(pinned)
        _ = try await subscription.read(consumer: "a", maxCount: 0)
        _ = try await subscription.read(consumer: "b", maxCount: 0)
        let a = try await subscription.read(consumer: "a", maxCount: 100)
        let b = try await subscription.read(consumer: "b", maxCount: 100)
        #expect(a.count + b.count == 40 - 1 - 1, "the two reads of one event each above took one")
        #expect(Set(a.map(\.event.stream)).isDisjoint(with: Set(b.map(\.event.stream))), "no stream is split")

        let single = PersistentSubscriptionName(stream: "$all", group: "single")
        try await registry.create(single, settings: Self.settings { $0.consumerStrategy = .dispatchToSingle })
        let one = try await registry.subscription(single)
        #expect(try await one.read(consumer: "first", maxCount: 5).count == 5)
        #expect(try await one.read(consumer: "second", maxCount: 5).isEmpty)
    }

    @Test("two instances: one runs a group, the other names it; when it stops the other takes over from the checkpoint")
    func instancesHandOver() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let a = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "http://a:2113", leaseDuration: .seconds(30))
        let b = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "http://b:2113", leaseDuration: .seconds(30))
        try await Self.append(store, 6)
        try await a.create(Self.all, settings: Self.settings())
        await #expect(throws: PersistentSubscriptionError.ownedElsewhere(Self.all, owner: "http://a:2113")) {
            _ = try await b.subscription(Self.all)
        }
        let onA = try await a.subscription(Self.all)
        let got = try await onA.read(consumer: "c", maxCount: 4)
        try await onA.ack(consumer: "c", ids: got.prefix(3).map(\.event.id))
        await a.stop()
        let onB = try await b.subscription(Self.all)
        let resumed = try await onB.read(consumer: "c", maxCount: 10)
        #expect(resumed.map(\.event.position) == [4, 5, 6], "b resumes after a's checkpoint; 4 was in flight on a")
        #expect(try await b.list().map(\.name) == [Self.all])
    }

    @Test("definitions live in the checkpoint store: listed after a reopen, updated, and deleted with their checkpoint and parked events")
    func definitionsPersist() async throws {
        let store = InMemoryEventStore()
        let dir = TemporaryDirectory.freshPath("persistent-definitions")
        defer { TemporaryDirectory.remove(dir) }
        try await Self.append(store, 2)
        let name = PersistentSubscriptionName(stream: "$all", group: "g")
        do {
            let registry = PersistentSubscriptions(store: store, checkpoints: try FileCheckpointStore(directory: dir), instance: "one")
            try await registry.create(name, filter: EventFilter(streamPrefixes: ["s-"]), settings: Self.settings { $0.maxRetryCount = 0 })
            let subscription = try await registry.subscription(name)
            let got = try await subscription.read(consumer: "c", maxCount: 1)
            try await subscription.nack(consumer: "c", ids: got.map(\.event.id), action: .retry, reason: "no")
            await registry.stop()
        }
        let checkpoints = try FileCheckpointStore(directory: dir)
        let registry = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "two")
        let listed = try await registry.list()
        #expect(listed.map(\.name) == [name] && listed[0].filter == EventFilter(streamPrefixes: ["s-"]) && listed[0].settings.maxRetryCount == 0)
        #expect(try await checkpoints.parked(consumer: "$all::g", after: nil, limit: 10).count == 1)
        try await registry.update(name, settings: Self.settings { $0.maxRetryCount = 7 })
        #expect(try await registry.list()[0].settings.maxRetryCount == 7 && registry.runningHere() == [name])
        try await registry.delete(name)
        #expect(try await registry.list().isEmpty && registry.runningHere().isEmpty)
        #expect(try await checkpoints.parked(consumer: "$all::g", after: nil, limit: 10).isEmpty)
        #expect(try await checkpoints.checkpoint(for: "$all::g") == nil)
        await #expect(throws: PersistentSubscriptionError.notFound(name)) { _ = try await registry.subscription(name) }
        await #expect(throws: PersistentSubscriptionError.notFound(name)) { _ = try await registry.parked(name, after: nil, limit: 10) }
    }

    @Test("the parked page of a group is read from the checkpoint store by any instance; a start after the last possible key is refused (it overflowed the first read)")
    func parkedPageAndStartBound() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        try await Self.append(store, 3)
        let name = PersistentSubscriptionName(stream: "s-1", group: "g")
        let one = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "one", leaseDuration: .seconds(600))
        let two = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "two", leaseDuration: .seconds(600))
        try await one.create(name, settings: Self.settings())
        let subscription = try await one.subscription(name)
        let got = try await subscription.read(consumer: "c", maxCount: 1)
        try await subscription.nack(consumer: "c", ids: got.map(\.event.id), action: .park, reason: "bad")
        let page = try await two.parked(name, after: nil, limit: 10)
        #expect(page.map(\.position) == [2] && page.map(\.error) == ["bad"])
        #expect(try await two.parked(name, after: 2, limit: 10).isEmpty)
        await #expect(throws: PersistentSubscriptionError.ownedElsewhere(name, owner: "one")) { _ = try await two.subscription(name) }
        await one.stop()

        for key in [UInt64.max, UInt64(Int64.max) + 1] {
            var settings = Self.settings()
            settings.startFrom = .after(key)
            #expect(throws: StrataError.self) { try settings.validate() }
            await #expect(throws: StrataError.self) { try await two.create(PersistentSubscriptionName(stream: "s-1", group: "far"), settings: settings) }
        }
        var settings = Self.settings()
        settings.startFrom = .after(UInt64(Int64.max))
        try await two.create(PersistentSubscriptionName(stream: "s-1", group: "far"), settings: settings)
        #expect(try await two.subscription(PersistentSubscriptionName(stream: "s-1", group: "far")).read(consumer: "c", maxCount: 5).isEmpty)
        await two.stop()
    }
}
