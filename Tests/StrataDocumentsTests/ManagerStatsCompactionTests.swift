import Foundation
import Strata
import StrataDocuments
import StrataTestSupport
import Testing

@Suite("Document manager, stats and compaction")
struct ManagerStatsCompactionTests {
    @Test("the manager opens on demand, gives the same instance per name, and reports opened/closed")
    func manager() async throws {
        let store = InMemoryEventStore()
        let manager = DocumentManager(store: store, options: DocumentManagerOptions(idleTimeout: .zero, sweepInterval: .seconds(3600)))
        let events = await manager.events()
        let orders = try await manager.collection("orders")
        let again = try await manager.collection("orders")
        #expect(orders === again)
        let users = try await manager.collection("users")
        try await orders.put("order123", ["item": "Laptop", "quantity": 1])
        try await users.put("user123", ["name": "Alice"])
        #expect(await manager.openCollections == ["orders", "users"])

        // A subscribed collection stays open however idle; the other closes.
        let subscription = try users.subscribe()
        #expect(await manager.closeIdle() == ["orders"])
        #expect(orders.isClosed)
        subscription.cancel()
        try await Wait.until("the subscription ends", timeout: .seconds(10)) { users.subscriptionCount == 0 }
        #expect(await manager.closeIdle() == ["users"])

        // Reopening keeps the data (it lives in the events).
        let reopened = try await manager.collection("orders")
        #expect(reopened !== orders)
        #expect(try reopened.get("order123")?.data["item"] == "Laptop")
        try await manager.closeAll()
        await #expect(throws: StrataError.self) { try await manager.collection("orders") }

        var seen: [DocumentManager.Event] = []
        for await event in events { seen.append(event) }
        #expect(seen == [.opened("orders"), .opened("users"), .closed("orders"), .closed("users"), .opened("orders"), .closed("orders")])
    }

    @Test("the sweeper closes an idle collection on its own, and its data is kept")
    func idleClose() async throws {
        let store = InMemoryEventStore()
        let manager = DocumentManager(store: store, options: DocumentManagerOptions(idleTimeout: .milliseconds(30), sweepInterval: .milliseconds(10)))
        let events = await manager.events()
        let orders = try await manager.collection("orders")
        try await orders.put("o1", ["total": 5])
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == .opened("orders"))
        #expect(await iterator.next() == .closed("orders"))
        #expect(orders.isClosed)
        #expect(try await manager.collection("orders").get("o1")?.data["total"] == 5)
        try await manager.closeAll()
    }

    @Test("every operation sends one event to the stats stream")
    func stats() async throws {
        let store = InMemoryEventStore()
        var options = DocumentStoreOptions()
        options.statsStream = "stats-users"
        let users = try await openUsers(store, options)
        let subscription = try users.subscribe(["name": "Ann"])
        try await users.put("ann", ["name": "Ann"])
        _ = try users.get("ann")
        _ = try users.get("nobody")
        _ = try users.keys(matching: "^a")
        _ = try users.query(["name": "Ann"])
        try await users.delete("ann")
        _ = try await nextChanges(subscription, 2)
        try await users.close()
        var stats: [DocumentValue] = []
        for try await event in store.readStream("stats-users") {
            #expect(event.type == "document.stats")
            stats.append(try DocumentValue.parse(event.data))
        }
        let operations = stats.compactMap { $0["operation"]?.stringValue }
        #expect(operations.sorted() == ["DELETE", "GET", "GET", "KEYS", "PUT", "QUERY", "SUBSCRIBE", "SUBSCRIBE_EMIT", "SUBSCRIBE_EMIT"])
        let gets = stats.filter { $0["operation"] == "GET" }
        #expect(gets.map { $0["resultCount"] } == [1, 0])
        #expect(gets.first?["id"] == "ann")
        #expect(stats.first { $0["operation"] == "KEYS" }?["pattern"] == "^a")
        #expect(stats.first { $0["operation"] == "QUERY" }?["query"] == #"{"name":{"$eq":"Ann"}}"#)
        #expect(stats.allSatisfy { $0["durationMs"]?.doubleValue != nil && $0["timestamp"]?.stringValue?.hasSuffix("Z") == true })
    }

    @Test("compaction keeps the last versions and drops old tombstones without changing reads")
    func compaction() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        for i in 1 ... 5 { try await users.put("a", ["v": .int(Int64(i))]) }
        try await users.patch("a", ["extra": true])
        try await users.put("b", ["v": 1])
        try await users.put("gone", ["v": 1])
        try await users.delete("gone")
        let before = try users.query(.all)
        let report = try await users.compact(keepVersions: 2, dropTombstonesOlderThan: .zero)
        #expect(report == CompactionReport(compacted: 1, tombstonesDropped: 1, skipped: 0))
        #expect(try users.query(.all) == before)
        let history = try await users.history("a")
        #expect(history.map(\.type) == ["document.patch", "document.snapshot"])
        #expect(try await users.history("gone").isEmpty)
        // Reads of a fresh replay, and later writes, continue from the same meta.
        let replay = try await openUsers(store)
        #expect(try replay.query(.all) == before)
        let next = try await users.patch("a", ["v": 7])
        #expect(next.meta.changes == 7)
        // A recreated document after its tombstone was dropped starts afresh, also with expectedChanges 0.
        let recreated = try await users.put("gone", ["v": 2], expectedChanges: 0)
        #expect(recreated.meta.changes == 1)
        try await replay.sync()
        #expect(try replay.query(.all) == users.query(.all))
        await #expect(throws: StrataError.self) { try await users.compact(keepVersions: 0) }
        try await replay.close()
        try await users.close()
    }
}
