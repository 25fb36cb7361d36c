import Foundation
import Strata
import StrataStorage
import StrataDocuments
import Testing

@Suite("Point-in-time state, restore and history")
struct PointInTimeTests {
    /// Randomised writes through a plain collection and a CDC collection, recording the state a
    /// live view showed after each one, with the head position at that moment.
    static func randomRun(store: any EventStore, seed: UInt64, operations: Int)
        async throws -> (users: CDCCollection, orders: DocumentStore, observed: [(position: UInt64, users: [String: Document], orders: [String: Document])]) {
        var random = SplitMix64(seed: seed)
        let users = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true))
        let orders = try await openUsers(store, collection: "orders")
        var observed: [(position: UInt64, users: [String: Document], orders: [String: Document])] = []
        for _ in 0 ..< operations {
            let key = "k\(random.next() % 8)"
            let value: DocumentValue = ["n": .int(Int64(random.next() % 100)), "tag": random.next() % 2 == 0 ? "a" : "b"]
            switch random.next() % 9 {
            case 0, 1: try await users.put(key, value)
            case 2: try await users.delete(key)
            case 3: try await users.putMany([(key, value), ("k\(random.next() % 8 + 8)", ["n": 0])])
            case 4: try await users.deleteMany([key, "k\(random.next() % 16)"])
            case 5: try await orders.put(key, value)
            case 6:
                if try orders.get(key) != nil { try await orders.patch(key, ["n": .null, "p": .int(Int64(random.next() % 10))]) }
            case 7: try await orders.delete(key)
            default: if random.next() % 4 == 0 { try await users.clear() } else { try await users.emitChange(.insert, docId: key, doc: value) }
            }
            observed.append((try await store.headPosition(), try observedState(users.documents), try observedState(orders)))
        }
        return (users, orders, observed)
    }

    @Test("the state rebuilt at a position equals the state observed at that position during the run",
          arguments: CDCBackend.allCases)
    func rebuildEqualsObserved(backend: CDCBackend) async throws {
        try await backend.withStore("pit-observed") { store, _ in
            let seed = UInt64(0x5EED_0000 + (backend == .log ? 1 : 2))
            let (users, orders, observed) = try await Self.randomRun(store: store, seed: seed, operations: 150)
            let timeline = DocumentTimeline(store: store)
            for (i, moment) in observed.enumerated() where i % 5 == 0 || i == observed.count - 1 {
                let states = try await timeline.states(at: .position(moment.position), collections: ["users", "orders"])
                #expect(states["users"]!.documents == moment.users, "seed \(seed), users after operation \(i) at position \(moment.position)")
                #expect(states["orders"]!.documents == moment.orders, "seed \(seed), orders after operation \(i) at position \(moment.position)")
                #expect(states["users"]!.position <= moment.position)
            }
            // Every collection in the store, found by one scan.
            let all = try await timeline.states(at: .position(observed.last!.position))
            #expect(Set(all.keys) == ["users", "orders"])
            #expect(all["orders"]!.documents == observed.last!.orders)
            // Reads over a rebuilt state.
            let last = try await timeline.state(of: "users", at: .position(observed.last!.position))
            #expect(last.count == observed.last!.users.count)
            #expect(last.keys() == observed.last!.users.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            #expect(try last.query(["tag": "a"]).count == observed.last!.users.values.filter { $0.data["tag"] == "a" }.count)
            try await users.documents.close()
            try await orders.close()
        }
    }

    @Test("a time picks the state after the last event recorded at or before it")
    func rebuildAtTime() async throws {
        let store = InMemoryEventStore()
        let (users, orders, observed) = try await Self.randomRun(store: store, seed: 77, operations: 60)
        let timeline = DocumentTimeline(store: store)
        var events: [RecordedEvent] = []
        for try await event in store.readAll() { events.append(event) }
        for moment in observed.enumerated().filter({ $0.offset % 7 == 0 }).map(\.element) {
            let date = Date(timeIntervalSince1970: Double(events[Int(moment.position) - 1].recordedAtMicroseconds) / 1_000_000)
            // A Date holds about a quarter of a microsecond's precision: take the microsecond it names.
            let time = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
            // The events recorded at or before that microsecond make the state.
            let through = events.last { $0.recordedAtMicroseconds <= time }?.position ?? 0
            let byTime = try await timeline.state(of: "users", at: .time(date))
            let byPosition = try await timeline.state(of: "users", at: .position(through))
            #expect(byTime.documents == byPosition.documents)
        }
        let before = try await timeline.state(of: "users", at: .time(Date(timeIntervalSince1970: 0)))
        #expect(before.count == 0 && before.position == 0)
        try await users.documents.close()
        try await orders.close()
    }

    @Test("restoring to a position makes it the current state in one append, recording changes", arguments: CDCBackend.allCases)
    func restoreToPosition(backend: CDCBackend) async throws {
        try await backend.withStore("pit-restore") { store, _ in
            let (users, orders, observed) = try await Self.randomRun(store: store, seed: 99, operations: 60)
            let timeline = DocumentTimeline(store: store)
            let target = observed[observed.count / 2]
            let head = try await store.headPosition()
            let report = try await timeline.restore([users], to: .position(target.position))
            #expect(try observedState(users.documents).mapValues(\.data) == target.users.mapValues(\.data))
            #expect(report.totalDocs == target.users.count)
            let changes = try await users.changes(after: head)
            #expect(changes.count == report.written + report.deleted)
            // Applying the recorded changes to the state before the restore gives the restored state.
            var replayed = observed.last!.users.mapValues(\.data)
            for change in changes { replayed[change.docId] = change.doc }
            #expect(replayed == target.users.mapValues(\.data))
            // A plain collection restores too (no changes recorded for it).
            try await timeline.restore([orders], to: .position(target.position))
            #expect(try observedState(orders).mapValues(\.data) == target.orders.mapValues(\.data))
            await #expect(throws: StrataError.self) { try await timeline.state(of: "users", at: .position(head + 1_000)) }
            await #expect(throws: StrataError.self) { try await timeline.state(of: "bad-name", at: .position(1)) }
            try await users.documents.close()
            try await orders.close()
        }
    }

    @Test("history lists every version with position, time and operation, also after compaction")
    func history() async throws {
        let store = InMemoryEventStore()
        let users = CDCCollection(try await openUsers(store))
        try await users.put("ada", ["name": "Ada"])
        try await users.documents.patch("ada", ["age": 36])
        try await users.put("other", ["name": "Other"])
        try await users.delete("ada")
        try await users.put("ada", ["name": "Ada again"])
        try await users.documents.compact(keepVersions: 1)
        let history = try await users.history("ada")
        #expect(history.map(\.operation) == [.put, .patch, .delete, .put, .snapshot])
        #expect(history.map { $0.document?.data } == [["id": "ada", "name": "Ada"], ["id": "ada", "name": "Ada", "age": 36], nil,
                                                      ["id": "ada", "name": "Ada again"], ["id": "ada", "name": "Ada again"]])
        #expect(history.map { $0.document?.meta.changes } == [1, 2, nil, 1, 1])
        #expect(history.map(\.revision) == [1, 2, 3, 4, 5])
        #expect(zip(history, history.dropFirst()).allSatisfy { $0.position < $1.position && $0.recordedAtMicroseconds <= $1.recordedAtMicroseconds })
        #expect(history[0].timestamp.hasSuffix("Z"))
        // The stream itself now shows only the snapshot.
        #expect(try await users.documents.history("ada").count == 1)
        #expect(try await users.history("nobody").isEmpty)
        try await users.documents.close()
    }
}
