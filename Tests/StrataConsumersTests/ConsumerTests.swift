import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing

/// Collects values from concurrent handlers.
final class Collector<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func add(_ item: T) { lock.withLock { items.append(item) } }
    func add(contentsOf more: [T]) { lock.withLock { items += more } }
    var values: [T] { lock.withLock { items } }
}

func tick(_ n: Int) -> EventData { EventData(type: "tick", json: #"{"n":\#(n)}"#) }

@Suite("Checkpointed consumers")
struct ConsumerTests {
    @Test("catches up, goes live, saves its checkpoint, and resumes after it when restarted")
    func catchUpLiveResume() async throws {
        let store = InMemoryEventStore()
        let dir = TemporaryDirectory.freshPath("consumers-resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for i in 1 ... 30 { try await store.append(to: "s-\(i % 3)", events: [tick(i)]) }
        let seen = Collector<UInt64>()
        let checkpoints = try FileCheckpointStore(directory: dir)
        let consumer = CheckpointedConsumer(name: "reader", store: store, checkpoints: checkpoints,
                                            options: ConsumerOptions(batchSize: 7)) { events, _ in
            seen.add(contentsOf: events.map(\.position))
        }
        let notifications = consumer.notifications()
        consumer.start()
        try await consumer.waitUntilCaughtUp(timeout: .seconds(60))
        var iterator = notifications.makeAsyncIterator()
        #expect(await iterator.next() == .caughtUp(position: 30))
        #expect(seen.values == Array(1 ... 30))
        // Live.
        try await store.append(to: "s-9", events: [tick(31), tick(32)])
        try await consumer.waitUntilProcessed(through: 32, timeout: .seconds(60))
        #expect(seen.values == Array(1 ... 32))
        await consumer.stop()
        #expect(try FileCheckpointStore(directory: dir).loadCheckpoint("reader") == 32)

        // A new instance resumes after the checkpoint.
        try await store.append(to: "s-9", events: [tick(33)])
        let resumed = Collector<UInt64>()
        let again = CheckpointedConsumer(name: "reader", store: store, checkpoints: try FileCheckpointStore(directory: dir)) { events, _ in
            resumed.add(contentsOf: events.map(\.position))
        }
        again.start()
        try await again.waitUntilCaughtUp(timeout: .seconds(60))
        await again.stop()
        #expect(resumed.values == [33])
        let status = try await again.status()
        #expect(status.checkpoint == 33 && status.head == 33 && status.lag == 0 && status.hasCaughtUp && !status.isRunning)
    }

    @Test("a saved checkpoint beyond the store's head (another store's) is refused with checkpointAheadOfStore, nothing skipped")
    func checkpointAheadOfStore() async throws {
        let store = InMemoryEventStore()
        for i in 1 ... 3 { try await store.append(to: "s", events: [tick(i)]) }
        let checkpoints = MemoryCheckpointStore()
        try await checkpoints.resetCheckpoint(for: "reader", to: 10)
        let seen = Collector<UInt64>()
        let consumer = CheckpointedConsumer(name: "reader", store: store, checkpoints: checkpoints) { events, _ in
            seen.add(contentsOf: events.map(\.position))
        }
        let expected = StrataError.checkpointAheadOfStore(consumer: "reader", checkpoint: 10, head: 3)
        await #expect(throws: expected) { try await consumer.run() }
        #expect(expected.description.contains("belongs to another store"))
        // Started in the background, waiters get the same error and the status keeps it.
        consumer.start()
        await #expect(throws: expected) { try await consumer.waitUntilCaughtUp(timeout: .seconds(10)) }
        await consumer.stop()
        #expect(try await consumer.status().lastError == expected.description)
        #expect(seen.values.isEmpty)
        #expect(try await checkpoints.checkpoint(for: "reader") == 10, "the checkpoint is left for the operator to fix")
        // At the head is fine.
        try await checkpoints.resetCheckpoint(for: "reader", to: 3)
        consumer.start()
        try await consumer.waitUntilCaughtUp(timeout: .seconds(10))
        await consumer.stop()
    }

    @Test("a checkpoint is bound to its store on first use: another store is refused with checkpointOfAnotherStore, nothing handled or changed")
    func checkpointOfAnotherStore() async throws {
        let dir = TemporaryDirectory.freshPath("consumers-binding")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = InMemoryEventStore(), second = InMemoryEventStore()
        for i in 1 ... 5 { try await first.append(to: "s", events: [tick(i)]) }
        for i in 1 ... 9 { try await second.append(to: "s", events: [tick(i)]) }
        let seen = Collector<UInt64>()
        func consumer(_ name: String, _ store: any EventStore) throws -> CheckpointedConsumer<FileCheckpointStore> {
            CheckpointedConsumer(name: name, store: store, checkpoints: try FileCheckpointStore(directory: dir)) { events, _ in
                seen.add(contentsOf: events.map(\.position))
            }
        }
        let reader = try consumer("reader", first)
        reader.start()
        try await reader.waitUntilProcessed(through: 5, timeout: .seconds(30))
        await reader.stop()
        let recorded = try String(contentsOfFile: dir + "/reader/store.json", encoding: .utf8)
        #expect(recorded == #"{"store":"\#(try await first.identity().value)","version":1}"#)

        // The folder pointed at another store: the checkpoint (5) is below its head (9), so only
        // the identity tells that resuming would skip the other store's first five events.
        let wrong = try consumer("reader", second)
        let expected = StrataError.checkpointOfAnotherStore(consumer: "reader", recorded: try await first.identity().value,
                                                            actual: try await second.identity().value)
        await #expect(throws: expected) { try await wrong.run() }
        wrong.start()
        await #expect(throws: expected) { try await wrong.waitUntilCaughtUp(timeout: .seconds(10)) }
        await wrong.stop()
        #expect(seen.values == [1, 2, 3, 4, 5], "nothing of the other store was handled")
        #expect(try FileCheckpointStore(directory: dir).loadCheckpoint("reader") == 5)

        // Another consumer in the same folder binds to the store it reads.
        let other = try consumer("other", second)
        other.start()
        try await other.waitUntilProcessed(through: 9, timeout: .seconds(30))
        await other.stop()
        #expect(try await FileCheckpointStore(directory: dir).boundStore(consumer: "other") == (try await second.identity()))

        // The same store again resumes (the binding holds).
        let again = try consumer("reader", first)
        try await first.append(to: "s", events: [tick(6)])
        again.start()
        try await again.waitUntilProcessed(through: 6, timeout: .seconds(30))
        await again.stop()
        #expect(Array(seen.values.suffix(1)) == [6])
    }

    @Test("events appended during catch-up are delivered after it, in order, none lost")
    func appendsDuringCatchUp() async throws {
        let store = InMemoryEventStore()
        for i in 1 ... 200 { try await store.append(to: "a", events: [tick(i)]) }
        let seen = Collector<UInt64>()
        let consumer = CheckpointedConsumer(name: "c", store: store, checkpoints: MemoryCheckpointStore(),
                                            options: ConsumerOptions(batchSize: 10)) { events, _ in
            seen.add(contentsOf: events.map(\.position))
            await Task.yield()
        }
        consumer.start()
        let writer = Task {
            for i in 201 ... 400 { try await store.append(to: "b", events: [tick(i)]) }
        }
        try await writer.value
        try await consumer.waitUntilProcessed(through: 400, timeout: .seconds(60))
        try await consumer.waitUntilIdle(timeout: .seconds(60))
        await consumer.stop()
        #expect(seen.values == Array(1 ... 400))
    }

    @Test("a filtered consumer sees only matching events and its checkpoint moves past the others")
    func filtered() async throws {
        let store = InMemoryEventStore()
        try await store.append(to: "orders-1", events: [tick(1)])
        try await store.append(to: "users-1", events: [tick(2), tick(3)])
        let seen = Collector<String>()
        let checkpoints = MemoryCheckpointStore()
        let consumer = CheckpointedConsumer(name: "orders", store: store, checkpoints: checkpoints,
                                            options: ConsumerOptions(filter: EventFilter(streamPrefixes: ["orders-"]))) { events, _ in
            seen.add(contentsOf: events.map(\.stream))
        }
        consumer.start()
        try await consumer.waitUntilIdle(timeout: .seconds(60))
        await consumer.stop()
        #expect(seen.values == ["orders-1"])
        #expect(try await checkpoints.checkpoint(for: "orders") == 3)
    }

    @Test("a failing event is retried, then parked; the checkpoint passes it only once parked; replay and skip")
    func retryAndPark() async throws {
        let store = InMemoryEventStore()
        for i in 1 ... 5 { try await store.append(to: "s", events: [tick(i)]) }
        let attempts = Collector<UInt64>()
        let handled = Collector<UInt64>()
        let broken = LockedFlag(true)
        let checkpoints = MemoryCheckpointStore()
        let consumer = CheckpointedConsumer(
            name: "p", store: store, checkpoints: checkpoints,
            options: ConsumerOptions(batchSize: 5, retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(1), maxDelay: .milliseconds(2)))
        ) { events, _ in
            for event in events {
                attempts.add(event.position)
                if event.position == 3 && broken.value { throw HandlerError(message: "position 3 is broken") }
            }
            handled.add(contentsOf: events.map(\.position))
        }
        let notifications = consumer.notifications()
        consumer.start()
        try await consumer.waitUntilIdle(timeout: .seconds(60))
        // One try within the batch of 5, then 3 alone.
        #expect(attempts.values.filter { $0 == 3 }.count == 4)
        #expect(handled.values.filter { $0 != 3 }.sorted().last == 5)
        #expect(!handled.values.contains(3))
        let parked = try await consumer.parked()
        #expect(parked.map(\.position) == [3])
        #expect(parked.first?.attempts == 3 && parked.first?.error.contains("position 3 is broken") == true)
        #expect(try await checkpoints.checkpoint(for: "p") == 5)
        var sawParked = false
        for await notification in notifications {
            if case .parked(let entry) = notification { sawParked = entry.position == 3; break }
        }
        #expect(sawParked)
        let status = try await consumer.status()
        #expect(status.lastError?.contains("position 3 is broken") == true)

        // Replay while still broken: it stays parked. Then fixed: handled and removed.
        await #expect(throws: HandlerError.self) { try await consumer.replayParked(position: 3) }
        #expect(try await consumer.parked().count == 1)
        broken.value = false
        try await consumer.replayParked(position: 3)
        #expect(handled.values.contains(3))
        #expect(try await consumer.parked().isEmpty)
        #expect(try await checkpoints.checkpoint(for: "p") == 5)
        await #expect(throws: StrataError.self) { try await consumer.replayParked(position: 3) }
        await #expect(throws: StrataError.self) { try await consumer.replayParked(position: 0) }
        await consumer.stop()
    }

    @Test("with parking off, the consumer stops at the failing event and its checkpoint stays before it")
    func stopWithoutParking() async throws {
        let store = InMemoryEventStore()
        for i in 1 ... 4 { try await store.append(to: "s", events: [tick(i)]) }
        let checkpoints = MemoryCheckpointStore()
        let consumer = CheckpointedConsumer(name: "strict", store: store, checkpoints: checkpoints,
                                            options: ConsumerOptions(batchSize: 10, retry: .none, parkFailures: false)) { events, _ in
            if events.contains(where: { $0.position == 3 }) { throw HandlerError(message: "no") }
        }
        await #expect(throws: HandlerError.self) { try await consumer.run() }
        #expect(try await checkpoints.checkpoint(for: "strict") == 2)
        #expect(try await consumer.parked().isEmpty)
    }

    @Test("parked events page in position order without loading the whole set")
    func parkedPaging() async throws {
        let dir = TemporaryDirectory.freshPath("consumers-parked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileCheckpointStore(directory: dir)
        for p in [UInt64](stride(from: 97, through: 1, by: -3)) {
            try await store.park(ParkedEvent(consumer: "c/1", position: p, stream: "s", revision: p, type: "t", error: "e", attempts: 1))
        }
        var all: [UInt64] = []
        var after: UInt64?
        while true {
            let page = try await store.parked(consumer: "c/1", after: after, limit: 7)
            #expect(page.count <= 7)
            guard let last = page.last else { break }
            all += page.map(\.position)
            after = last.position
        }
        #expect(all == Array(stride(from: 1, through: 97, by: 3)).map(UInt64.init))
        try await store.unpark(consumer: "c/1", position: 4)
        #expect(try await store.parked(consumer: "c/1", after: 1, limit: 1).map(\.position) == [7])
        #expect(try store.consumers() == ["c/1"])
    }
}

struct HandlerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag: Bool
    init(_ value: Bool) { flag = value }
    var value: Bool {
        get { lock.withLock { flag } }
        set { lock.withLock { flag = newValue } }
    }
}
