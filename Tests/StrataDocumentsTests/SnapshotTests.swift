import Foundation
import Strata
import StrataDocuments
import StrataTestSupport
import Testing

@Suite("Document snapshots")
struct SnapshotTests {
    /// data by key, without meta (a restore writes new events, so meta moves on).
    static func contents(_ documents: DocumentStore) throws -> [String: DocumentValue] {
        try observedState(documents).mapValues(\.data)
    }

    @Test("create, mutate, restore: the collections equal the snapshot again, in one atomic append",
          arguments: CDCBackend.allCases)
    func roundTrip(backend: CDCBackend) async throws {
        try await backend.withStore("snapshot-roundtrip") { store, directory in
            let users = try await openUsers(store)
            let orders = try await openUsers(store, collection: "orders")
            try await users.putMany([("ada", ["name": "Ada", "tags": ["a", 1, 2.5, true, .null]]), ("bob", ["name": "Bob"]),
                                     ("ünï cødé/ключ", ["name": "Ü"])])
            try await orders.put("o1", ["total": 42, "lines": [["sku": "x"]]])
            let usersBefore = try Self.contents(users)
            let ordersBefore = try Self.contents(orders)

            let snapshots = DocumentSnapshots(root: directory + "/backups")
            let info = try await snapshots.create(storeId: "shop-1", collections: [users, orders])
            #expect(info.totalDocs == 4)
            #expect(info.collections == ["users", "orders"])
            #expect(info.key.hasPrefix("snapshots/shop-1/") && info.key.hasSuffix("Z.json"))

            // dotdo's shape on disk.
            let file = try DocumentValue.parse(try #require(FileManager.default.contents(atPath: directory + "/backups/" + info.key)))
            #expect(file["id"] == "shop-1")
            #expect(file["timestamp"]?.stringValue == info.timestamp)
            #expect(file["collections"] == ["users", "orders"])
            #expect(file["totalDocs"] == 4)
            #expect(file["version"] == 1)
            #expect(file["data"]?["orders"] == [["_id": "o1", "id": "o1", "total": 42, "lines": [["sku": "x"]]]])

            // Mutate both collections.
            try await users.put("ada", ["name": "Changed"])
            try await users.delete("bob")
            try await users.put("carol", ["name": "Carol"])
            try await orders.delete("o1")
            try await orders.put("o2", ["total": 1])
            try await users.put("ünï cødé/ключ", ["name": "Ü"])      // rewritten with equal data

            let head = try await store.headPosition()
            let report = try await snapshots.restore(info.key, into: [users, orders])
            #expect(try Self.contents(users) == usersBefore)
            #expect(try Self.contents(orders) == ordersBefore)
            #expect(report.written == 3)       // ada, bob, o1
            #expect(report.deleted == 2)       // carol, o2
            #expect(report.unchanged == 1)
            #expect(report.totalDocs == 4)
            // One append: its events are contiguous and end at the head.
            #expect(report.position == head + 5)
            #expect(try await store.headPosition() == head + 5)

            // Restoring again changes nothing.
            let again = try await snapshots.restore(info.key, into: [users, orders])
            #expect(again.written == 0 && again.deleted == 0 && again.position == nil)
            try await users.close()
            try await orders.close()
        }
    }

    @Test("restoring into a CDC collection records each write as a change")
    func restoreRecordsChanges() async throws {
        let store = InMemoryEventStore()
        let users = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true))
        try await users.put("a", ["v": 1])
        let folder = try TemporaryDirectory("documents-snapshot-cdc")
        defer { folder.remove() }
        let snapshots = DocumentSnapshots(root: folder.path)
        let info = try await snapshots.create(storeId: "s", collections: [users.documents])
        let after = try await users.put("a", ["v": 2])
        try await users.put("b", ["v": 3])
        try await snapshots.restore(info.key, into: [users])
        let changes = try await users.changes(after: after.bookmark + 2)
        #expect(changes.map(\.type) == [.delete, .update])
        #expect(changes.map(\.docId) == ["b", "a"])
        #expect(changes[1].doc == ["id": "a", "v": 1] && changes[1].prev == ["id": "a", "v": 2])
        try await users.documents.close()
    }

    @Test("list is newest first with a limit; delete removes; a missing snapshot is a typed error")
    func listAndDelete() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        let folder = try TemporaryDirectory("documents-snapshot-list")
        defer { folder.remove() }
        let snapshots = DocumentSnapshots(root: folder.path)
        #expect(try snapshots.list(storeId: "s").isEmpty)
        var keys: [String] = []
        for i in 0 ..< 3 {
            try await users.put("k", ["i": .int(Int64(i))])
            keys.append(try await snapshots.create(storeId: "s", collections: [users]).key)
        }
        #expect(Set(keys).count == 3)
        #expect(try snapshots.list(storeId: "s").map(\.key) == keys.reversed())
        #expect(try snapshots.list(storeId: "s", limit: 2).map(\.key) == Array(keys.reversed().prefix(2)))
        #expect(try snapshots.list(storeId: "s").allSatisfy { $0.bytes > 0 })
        #expect(try snapshots.list(storeId: "other").isEmpty)
        #expect(try snapshots.read(keys[0])["users"]?["k"] == ["id": "k", "i": 0])

        try snapshots.delete(keys[1])
        #expect(try snapshots.list(storeId: "s").map(\.key) == [keys[2], keys[0]])
        #expect(throws: StrataError.self) { try snapshots.delete(keys[1]) }
        let head = try await store.headPosition()
        await #expect(throws: StrataError.self) { try await snapshots.restore(keys[1], into: [users]) }
        #expect(try await store.headPosition() == head)
        try await users.close()
    }

    @Test("path-traversal store ids and keys are refused before any file is touched")
    func traversalRefused() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        let folder = try TemporaryDirectory("documents-snapshot-traversal")
        defer { folder.remove() }
        let root = folder.path
        let snapshots = DocumentSnapshots(root: root + "/inner")
        for storeId in ["", "..", ".", "../x", "a/b", ".hidden", "a\0b", "a b", String(repeating: "x", count: 200)] {
            await #expect(throws: StrataError.self, "store id \(storeId)") { try await snapshots.create(storeId: storeId, collections: [users]) }
            #expect(throws: StrataError.self) { try snapshots.list(storeId: storeId) }
        }
        for key in ["../x.json", "/etc/passwd", "snapshots/../../etc/passwd", "snapshots/s/../../2026-11-23T23-59-01-123Z.json",
                    "snapshots/../2026-11-23T23-59-01-123Z.json", "snapshots/s/2026-11-23T23-59-01-123Z.json/..",
                    "snapshots/s/x.json", "snapshots//2026-11-23T23-59-01-123Z.json", "other/s/2026-11-23T23-59-01-123Z.json"] {
            await #expect(throws: StrataError.self, "key \(key)") { try await snapshots.restore(key, into: [users]) }
            #expect(throws: StrataError.self) { try snapshots.delete(key) }
            #expect(throws: StrataError.self) { try snapshots.read(key) }
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/inner"))
        await #expect(throws: StrataError.self) { try await snapshots.create(storeId: "s", collections: []) }
        try await users.close()
    }

    @Test("a dotdo file without version restores; another version, a corrupt file or a missing collection are typed errors")
    func formats() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        let folder = try TemporaryDirectory("documents-snapshot-formats")
        defer { folder.remove() }
        let root = folder.path
        let snapshots = DocumentSnapshots(root: root)
        try FileManager.default.createDirectory(atPath: root + "/snapshots/do1", withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) -> String {
            _ = FileManager.default.createFile(atPath: root + "/snapshots/do1/" + name, contents: Data(text.utf8))
            return "snapshots/do1/" + name
        }
        let dotdo = write("2024-01-15T12-34-56-789Z.json",
                          #"{"id":"do1","timestamp":"2024-01-15T12:34:56.789Z","collections":["users"],"totalDocs":1,"data":{"users":[{"_id":"u1","name":"Ann"}]}}"#)
        try await snapshots.restore(dotdo, into: [users])
        #expect(try users.get("u1")?.data == ["id": "u1", "name": "Ann"])

        let head = try await store.headPosition()
        let v2 = write("2024-01-15T12-34-56-790Z.json", #"{"version":2,"collections":[],"data":{}}"#)
        await #expect { try await snapshots.restore(v2, into: [users]) } throws: { error in
            if case StrataError.unsupportedFormat = error { return true } else { return false }
        }
        let corrupt = write("2024-01-15T12-34-56-791Z.json", #"{"collections":["users"],"data":{"users":[{"name":"no id"}]}"#)
        await #expect { try await snapshots.restore(corrupt, into: [users]) } throws: { error in
            if case StrataError.corruption = error { return true } else { return false }
        }
        for (i, text) in [#"{"collections":["users"]}"#, #"{"collections":["users"],"data":[]}"#,
                          #"{"collections":["users"],"totalDocs":2,"data":{"users":[{"_id":"u1"}]}}"#, "not json"].enumerated() {
            let bad = write("2024-01-15T12-34-56-80\(i)Z.json", text)
            await #expect { try await snapshots.restore(bad, into: [users]) } throws: { error in
                if case StrataError.corruption = error { return true } else { return false }
            }
        }
        let other = write("2024-01-15T12-34-56-792Z.json", #"{"collections":["users","orders"],"data":{}}"#)
        await #expect(throws: StrataError.self) { try await snapshots.restore(other, into: [users]) }
        #expect(try await store.headPosition() == head)
        #expect(try snapshots.list(storeId: "do1").count == 8)
        try await users.close()
    }

    @Test("a document with its own _id member cannot be snapshotted without loss: refused")
    func underscoreIdRefused() async throws {
        let users = try await openUsers(InMemoryEventStore())
        try await users.put("a", ["_id": "mine"])
        let folder = try TemporaryDirectory("documents-snapshot-id")
        defer { folder.remove() }
        await #expect(throws: StrataError.self) {
            try await DocumentSnapshots(root: folder.path).create(storeId: "s", collections: [users])
        }
        try await users.close()
    }
}
