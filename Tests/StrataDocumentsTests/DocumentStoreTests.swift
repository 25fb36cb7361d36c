import Foundation
import Strata
import StrataDocuments
import StrataLog
import StrataTestSupport
import Testing

@Suite("Document store: eventbase's scenarios")
struct DocumentStoreTests {
    @Test("a stored document comes back with its id and meta: changes 1 and equal dates")
    func storeAndRetrieve() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let stored = try await users.put("user123", ["name": "John Doe", "age": 30])
        let got = try #require(try users.get("user123"))
        #expect(got == stored)
        #expect(got.data == ["id": "user123", "name": "John Doe", "age": 30])
        #expect(got.meta.id == "user123")
        #expect(got.meta.changes == 1)
        #expect(got.meta.dateCreated == got.meta.dateModified)
        #expect(got.meta.dateCreated.count == 24 && got.meta.dateCreated.hasSuffix("Z"))
        #expect(try users.get("nobody") == nil)
        try await users.close()
    }

    @Test("an update gives changes 2, the same dateCreated and a later dateModified")
    func update() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let first = try await users.put("u", ["name": "A"])
        let second = try await users.put("u", ["name": "B"])
        #expect(second.meta.changes == 2)
        #expect(second.meta.dateCreated == first.meta.dateCreated)
        #expect(second.meta.dateModified > first.meta.dateModified)
        #expect(try users.get("u")?.data == ["id": "u", "name": "B"])
        try await users.close()
    }

    @Test("dates come from the recorded time of the events, in ISO 8601 UTC with milliseconds")
    func datesFromEvents() async throws {
        let clock = ManualClock(1_700_000_000_123_456)
        let users = try await openUsers(InMemoryEventStore(clock: { clock.now }))
        let doc = try await users.put("u", ["a": 1])
        #expect(doc.meta.dateCreated == "2023-11-14T22:13:20.123Z")
        // Two writes in the same millisecond still give a later dateModified.
        let again = try await users.put("u", ["a": 2])
        #expect(again.meta.dateModified == "2023-11-14T22:13:20.124Z")
        try await users.close()
    }

    @Test("insert generates a UUID key and returns id, data and meta")
    func insert() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let doc = try await users.insert(["name": "Jane"])
        #expect(UUID(uuidString: doc.id) != nil)
        #expect(doc.data["id"] == .string(doc.id))
        #expect(try users.get(doc.id) == doc)
        try await users.close()
    }

    @Test("patch merges like JSON merge patch: null deletes, objects merge, arrays replace")
    func patch() async throws {
        let users = try await openUsers(InMemoryEventStore())
        try await users.put("p", ["name": "A", "address": ["city": "Paris", "zip": "75001"], "tags": ["x", "y"], "gone": true])
        let patched = try await users.patch("p", ["address": ["city": "Lyon"], "tags": ["z"], "gone": .null, "new": 1])
        #expect(patched.data == ["id": "p", "name": "A", "address": ["city": "Lyon", "zip": "75001"], "tags": ["z"], "new": 1])
        #expect(patched.meta.changes == 2)
        await #expect(throws: StrataError.streamNotFound("users-missing")) { try await users.patch("missing", ["a": 1]) }
        await #expect(throws: StrataError.self) { try await users.patch("p", ["id": "other"]) }
        try await users.close()
    }

    @Test("delete removes the document; recreating starts again at changes 1")
    func delete() async throws {
        let users = try await openUsers(InMemoryEventStore())
        try await users.put("d", ["v": 1])
        try await users.put("d", ["v": 2])
        #expect(try await users.delete("d"))
        #expect(try users.get("d") == nil)
        #expect(try await users.delete("d") == false)
        let again = try await users.put("d", ["v": 3])
        #expect(again.meta.changes == 1)
        try await users.close()
    }

    @Test("expectedChanges is optimistic concurrency: a stale count fails and stores nothing")
    func expectedChanges() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        try await users.put("k", ["v": 1], expectedChanges: 0)
        await #expect(throws: StrataError.wrongExpectedRevision(stream: "users-k", expected: .exact(0), actual: 1)) {
            try await users.put("k", ["v": 9], expectedChanges: 0)
        }
        try await users.put("k", ["v": 2], expectedChanges: 1)
        await #expect(throws: StrataError.wrongExpectedRevision(stream: "users-k", expected: .exact(1), actual: 2)) {
            try await users.put("k", ["v": 9], expectedChanges: 1)
        }
        #expect(try users.get("k")?.data["v"] == 2)
        // A second instance that has not seen the latest write is refused by the store itself.
        let other = try await openUsers(store)
        try await users.put("k", ["v": 3], expectedChanges: 2)
        try await other.sync()
        try await users.delete("k", expectedChanges: 3)
        await #expect(throws: StrataError.self) { try await other.put("k", ["v": 9], expectedChanges: 3) }
        // After a delete, "must not exist" holds again.
        try await users.put("k", ["v": 4], expectedChanges: 0)
        #expect(try users.get("k")?.meta.changes == 1)
        try await other.close()
        try await users.close()
    }

    @Test("keys with special characters are stored, listed and read back", arguments: ["!@#$%^&*()_+", "a/b\\c", "ünï cødé", "100%", "line\nbreak", "$dollar"])
    func specialKeys(_ key: String) async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        try await users.put(key, ["k": .string(key)])
        #expect(try users.get(key)?.data["k"] == .string(key))
        #expect(try users.keys() == [key])
        // A fresh replay reads the same key back from the events.
        let replay = try await openUsers(store)
        #expect(try replay.get(key)?.data["id"] == .string(key))
        try await replay.close()
        try await users.close()
    }

    @Test("keys by pattern: regular expressions, globs, and hostile patterns refused")
    func keysByPattern() async throws {
        let users = try await openUsers(InMemoryEventStore())
        for key in ["user1", "user2", "admin1", "user10", "guest"] { try await users.put(key, ["a": 1]) }
        #expect(try users.keys(matching: "^user") == ["user1", "user10", "user2"])
        #expect(try users.keys(matching: "1$") == ["admin1", "user1"])
        #expect(try users.keys(glob: "user?") == ["user1", "user2"])
        #expect(try users.keys(glob: "*1*") == ["admin1", "user1", "user10"])
        #expect(throws: StrataError.self) { try users.keys(matching: "(unclosed") }
        #expect(throws: StrataError.self) { try users.keys(matching: String(repeating: "a", count: 300)) }
        try await users.close()
    }

    @Test("a catastrophic pattern stops at its time budget with timedOut")
    func hostilePattern() async throws {
        var options = DocumentStoreOptions()
        options.keyPatternTimeBudget = .milliseconds(50)
        let users = try await openUsers(InMemoryEventStore(), options)
        let long = String(repeating: "a", count: 40) + "!"
        try await users.putMany((0 ..< 200).map { (key: long + "\($0)", data: ["a": 1]) })
        let started = ContinuousClock.now
        #expect {
            try users.keys(matching: "^(a+)+$")
        } throws: { error in
            if case StrataError.timedOut = error { return true }
            return false
        }
        // The budget is 50 ms; without it the pattern runs for hours. A bound far from both holds
        // on a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(60))
        try await users.close()
    }

    @Test("10 concurrent puts all land with their meta")
    func concurrentPuts() async throws {
        let users = try await openUsers(InMemoryEventStore())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0 ..< 10 { group.addTask { _ = try await users.put("c\(i)", ["n": .int(Int64(i))]) } }
            try await group.waitForAll()
        }
        #expect(try users.count() == 10)
        for i in 0 ..< 10 { #expect(try users.get("c\(i)")?.data["n"] == .int(Int64(i))) }
        // And 10 concurrent updates of one key give changes 11.
        try await users.put("same", ["n": 0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1 ... 10 { group.addTask { _ = try await users.put("same", ["n": .int(Int64(i))]) } }
            try await group.waitForAll()
        }
        #expect(try users.get("same")?.meta.changes == 11)
        try await users.close()
    }

    @Test("a 100-element array round-trips")
    func largeArray() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        let items = DocumentValue.array((0 ..< 100).map { .object(["i": .int(Int64($0)), "s": .string("item \($0)")]) })
        try await users.put("big", ["items": items])
        #expect(try users.get("big")?.data["items"] == items)
        let replay = try await openUsers(store)
        #expect(try replay.get("big")?.data["items"] == items)
        try await replay.close()
        try await users.close()
    }

    @Test("bad input is refused with a typed error and stores nothing")
    func badInput() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        await #expect(throws: StrataError.self) { try await users.put("", ["a": 1]) }
        await #expect(throws: StrataError.self) { try await users.put("k", [1, 2]) }
        await #expect(throws: StrataError.self) { try await users.put("k", ["id": "other"]) }
        await #expect(throws: StrataError.self) { try await users.put("k", ["x": .double(.nan)]) }
        await #expect(throws: StrataError.self) { try await users.put(String(repeating: "k", count: 300), ["a": 1]) }
        await #expect(throws: StrataError.self) { try await DocumentStore.open(store: store, collection: "bad-name") }
        #expect(try await store.headPosition() == 0)
        try await users.close()
        #expect(throws: StrataError.self) { try users.get("k") }
    }

    @Test("two instances on one log store converge")
    func twoInstances() async throws {
        let directory = try TemporaryDirectory("documents-two").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try LogEventStore(directory: directory, configuration: LogConfiguration(durability: .none))
        let a = try await openUsers(store)
        let b = try await openUsers(store)
        try await a.put("shared", ["from": "a"])
        try await Wait.until("b sees a's write", timeout: .seconds(10)) { try b.get("shared")?.data["from"] == "a" }
        try await b.patch("shared", ["also": "b"])
        try await a.sync()
        #expect(try a.get("shared") == b.get("shared"))
        #expect(try a.get("shared")?.meta.changes == 2)
        try await b.delete("shared")
        try await a.sync()
        #expect(try a.get("shared") == nil)
        try await a.close()
        try await b.close()
        try await store.close()
    }

    @Test("collections are separate, even when one name starts with another")
    func separateCollections() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store, collection: "users")
        let admins = try await openUsers(store, collection: "users.admin")
        try await users.put("x", ["in": "users"])
        try await admins.put("x", ["in": "admins"])
        try await users.sync()
        try await admins.sync()
        #expect(try users.get("x")?.data["in"] == "users")
        #expect(try admins.get("x")?.data["in"] == "admins")
        #expect(try users.count() == 1)
        try await users.close()
        try await admins.close()
    }
}

/// A settable clock for the in-memory store.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64
    init(_ value: Int64) { self.value = value }
    var now: Int64 { lock.withLock { value } }
    func set(_ v: Int64) { lock.withLock { value = v } }
}
