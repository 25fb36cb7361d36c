import Foundation
import Strata
import StrataConsumers
import StrataTestSupport
import Testing

@Suite("State-file consumers")
struct StateAndGroupTests {
    struct Totals: Codable, Sendable, Equatable {
        var count = 0
        var sum = 0
    }

    @Test("a state-file consumer saves state and position together and resumes exactly after them")
    func stateFile() async throws {
        let store = InMemoryEventStore()
        let dir = TemporaryDirectory.freshPath("consumers-state")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/totals.json"
        for i in 1 ... 10 { try await store.append(to: "n", events: [tick(i)]) }
        let apply: StateFileConsumer<Totals>.Handler = { totals, event in
            guard let n = try JSONDecoder().decode([String: Int].self, from: event.data)["n"] else {
                throw HandlerError(message: "no n at \(event.position)")
            }
            totals.count += 1
            totals.sum += n
        }
        let first = try StateFileConsumer(snapshotFile: file, store: store, options: ConsumerOptions(batchSize: 4), defaultState: Totals(), handler: apply)
        first.start()
        try await first.waitUntilCaughtUp(timeout: .seconds(60))
        await first.stop()
        #expect(first.state == Totals(count: 10, sum: 55) && first.position == 10)

        for i in 11 ... 12 { try await store.append(to: "n", events: [tick(i)]) }
        let second = try StateFileConsumer(snapshotFile: file, store: store, defaultState: Totals(), handler: apply)
        #expect(second.state == Totals(count: 10, sum: 55) && second.position == 10)
        second.start()
        try await second.waitUntilProcessed(through: 12, timeout: .seconds(60))
        await second.stop()
        #expect(second.state == Totals(count: 12, sum: 78))

        // A batch whose handler throws changes neither state nor position.
        try await store.append(to: "n", events: [EventData(type: "tick", json: #"{"m":1}"#)])
        let third = try StateFileConsumer(snapshotFile: file, store: store, options: ConsumerOptions(retry: .none, parkFailures: false),
                                          defaultState: Totals(), handler: apply)
        await #expect(throws: (any Error).self) { try await third.run() }
        #expect(third.state == Totals(count: 12, sum: 78) && third.position == 12)

        // A file that is not a snapshot is a typed error.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        #expect(throws: StrataError.self) {
            _ = try StateFileConsumer(snapshotFile: dir + "/bad.json", store: store, defaultState: Totals(), handler: apply)
        }
    }

    @Test("a state-file consumer refuses another store's snapshot, and one beyond its own store's head")
    func stateFileAheadOfStore() async throws {
        let dir = TemporaryDirectory.freshPath("consumers-state-ahead")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/totals.json"
        let original = InMemoryEventStore()
        for i in 1 ... 5 { try await original.append(to: "n", events: [tick(i)]) }
        let count: StateFileConsumer<Totals>.Handler = { totals, _ in totals.count += 1 }
        let first = try StateFileConsumer(snapshotFile: file, store: original, defaultState: Totals(), handler: count)
        first.start()
        try await first.waitUntilProcessed(through: 5, timeout: .seconds(10))
        await first.stop()

        // The same snapshot over another store.
        let other = InMemoryEventStore()
        for i in 1 ... 2 { try await other.append(to: "n", events: [tick(i)]) }
        let second = try StateFileConsumer(snapshotFile: file, store: other, defaultState: Totals(), handler: count)
        let originalIdentity = try await original.identity()
        await #expect(throws: StrataError.checkpointOfAnotherStore(consumer: "state", recorded: originalIdentity.value,
                                                                   actual: try await other.identity().value)) {
            try await second.run()
        }
        #expect(second.state == Totals(count: 5, sum: 0) && second.position == 5, "the snapshot is left untouched")

        // The same snapshot over an older copy of its own store (same identity, fewer events).
        let olderCopy = SameIdentityStore(forwardee: other, identity: originalIdentity)
        let third = try StateFileConsumer(snapshotFile: file, store: olderCopy, defaultState: Totals(), handler: count)
        await #expect(throws: StrataError.checkpointAheadOfStore(consumer: "state", checkpoint: 5, head: 2)) {
            try await third.run()
        }
        #expect(third.state == Totals(count: 5, sum: 0) && third.position == 5, "the snapshot is left untouched")
    }
}

/// A one-shot gate tasks wait on.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func open() {
        isOpen = true
        for w in waiters { w.resume() }
        waiters.removeAll()
    }
}



/// Another store that reports a given identity: an older copy of a store (a restored backup).
struct SameIdentityStore: ForwardingEventStore {
    let forwardee: any EventStore
    let identity: StoreIdentity
    func identity() async throws -> StoreIdentity { identity }
}
