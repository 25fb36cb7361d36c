import Foundation
import Strata
import StrataDocuments
import StrataTestSupport
import Testing

@Suite("Document subscriptions")
struct SubscriptionTests {
    @Test("changes arrive with eventbase's shape: key, data, meta and event {type, oldData, timestamp}")
    func shapes() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let adults = try users.subscribe(["age": ["$gte": 18]])
        let first = try await users.put("ann", ["name": "Ann", "age": 30])
        try await users.put("kid", ["name": "Kid", "age": 9])                      // never matches: not delivered
        let second = try await users.patch("ann", ["age": 31])
        try await users.patch("ann", ["age": 12])                                   // leaves the filter
        try await users.delete("kid")                                               // did not match: not delivered
        try await users.put("ann", ["name": "Ann", "age": 40])                     // matches again
        try await users.delete("ann")
        let changes = try await nextChanges(adults, 5)
        #expect(changes.map(\.key) == ["ann", "ann", "ann", "ann", "ann"])
        #expect(changes.map(\.event.type) == [.put, .patch, .patch, .put, .delete])
        #expect(changes.map(\.matches) == [true, true, false, true, false])

        #expect(changes[0].data == first.data)
        #expect(changes[0].meta == first.meta)
        #expect(changes[0].event.oldData == nil)
        #expect(changes[0].event.timestamp == first.meta.dateModified)
        #expect(changes[1].data == second.data)
        #expect(changes[1].meta?.changes == 2)
        #expect(changes[1].event.oldData == first.data)
        #expect(changes[2].data?["age"] == 12)
        #expect(changes[3].event.oldData?["age"] == 12)
        #expect(changes[4].data == nil && changes[4].meta == nil)
        #expect(changes[4].event.oldData?["age"] == 40)
        adults.cancel()
        try await users.close()
    }

    @Test("several subscriptions each receive only their matches; a delete reaches only matching subscriptions")
    func several() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let paris = try users.subscribe(["city": "Paris"])
        let lyon = try users.subscribe(["city": "Lyon"])
        let everything = try users.subscribe()
        try await users.put("a", ["city": "Paris"])
        try await users.put("b", ["city": "Lyon"])
        try await users.delete("a")
        try await users.put("c", ["city": "Lyon"])
        #expect(try await nextChanges(paris, 2).map { "\($0.key):\($0.event.type)" } == ["a:put", "a:delete"])
        #expect(try await nextChanges(lyon, 2).map { "\($0.key):\($0.event.type)" } == ["b:put", "c:put"])
        #expect(try await nextChanges(everything, 4).map { "\($0.key):\($0.event.type)" } == ["a:put", "b:put", "a:delete", "c:put"])
        try await users.close()
    }

    @Test("unsubscribing ends the sequence and stops delivery")
    func unsubscribe() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let subscription = try users.subscribe()
        #expect(users.subscriptionCount == 1)
        try await users.put("x", ["v": 1])
        #expect(try await nextChanges(subscription, 1).first?.key == "x")
        subscription.cancel()
        try await Wait.until("the subscription is removed", timeout: .seconds(10)) { users.subscriptionCount == 0 }
        try await users.put("y", ["v": 2])
        var after: [DocumentChange] = []
        for try await change in subscription { after.append(change) }
        #expect(after.isEmpty)
        try await users.close()
    }

    @Test("closing the collection ends its subscriptions")
    func closeEnds() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let subscription = try users.subscribe()
        try await users.close()
        var count = 0
        for try await _ in subscription { count += 1 }
        #expect(count == 0)
        #expect(throws: StrataError.self) { try users.subscribe() }
    }

    @Test("a subscriber that falls too far behind is ended with an error, never silently skipped")
    func overflow() async throws {
        var options = DocumentStoreOptions()
        options.subscriptionBufferLimit = 5
        let users = try await openUsers(InMemoryEventStore(), options)
        let subscription = try users.subscribe()
        try await users.putMany((0 ..< 20).map { (key: "k\($0)", data: ["n": .int(Int64($0))]) })
        var received = 0
        await #expect(throws: StrataError.self) {
            for try await _ in subscription { received += 1 }
        }
        #expect(received == 5)
        try await users.close()
    }

    @Test("another instance's writes reach this instance's subscriptions")
    func acrossInstances() async throws {
        let store = InMemoryEventStore()
        let a = try await openUsers(store)
        let b = try await openUsers(store)
        let onB = try b.subscribe(["team": "red"])
        try await a.put("p1", ["team": "red"])
        try await a.put("p2", ["team": "blue"])
        try await a.put("p3", ["team": "red"])
        #expect(try await nextChanges(onB, 2).map(\.key) == ["p1", "p3"])
        try await a.close()
        try await b.close()
    }
}
