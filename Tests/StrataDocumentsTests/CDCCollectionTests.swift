import Foundation
import Strata
import StrataDocuments
import Testing

@Suite("CDC collections")
struct CDCCollectionTests {
    static let source = SourceIdentity(id: "node-1", name: "api", class: "UserService", region: "eu-west", worker: "w7")

    @Test("put records insert then update with prev; delete records prev; a missing document's delete records nothing",
          arguments: CDCBackend.allCases)
    func insertUpdateDelete(backend: CDCBackend) async throws {
        try await backend.withStore("cdc-basic") { store, _ in
            let users = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true, source: Self.source))
            let inserted = try await users.put("ada", ["name": "Ada"])
            #expect(inserted.type == .insert)
            #expect(inserted.doc == ["id": "ada", "name": "Ada"])
            #expect(inserted.prev == nil)
            #expect(inserted.collection == "users" && inserted.docId == "ada")
            let updated = try await users.put("ada", ["name": "Ada L."])
            #expect(updated.type == .update)
            #expect(updated.prev == ["id": "ada", "name": "Ada"])
            #expect(updated.bookmark > inserted.bookmark)
            let headBefore = try await store.headPosition()
            #expect(try await users.delete("bob") == nil)
            #expect(try await store.headPosition() == headBefore)
            let deleted = try #require(try await users.delete("ada"))
            #expect(deleted.type == .delete && deleted.doc == nil)
            #expect(deleted.prev == ["id": "ada", "name": "Ada L."])
            #expect(try users.get("ada") == nil)

            // What the log holds is exactly what the writes returned, bookmarks included.
            #expect(try await users.changes() == [inserted, updated, deleted])
            #expect(try await users.changes(after: inserted.bookmark, limit: 1) == [updated])

            // The stored event: its type, data, metadata and position (the bookmark).
            var raw: [RecordedEvent] = []
            for try await event in store.readStream("cdc-users") { raw.append(event) }
            #expect(raw.map(\.type) == ["collection.insert", "collection.update", "collection.delete"])
            #expect(raw.map(\.position) == [inserted.bookmark, updated.bookmark, deleted.bookmark])
            let data = try DocumentValue.parse(raw[1].data)
            #expect(data == ["collection": "users", "docId": "ada", "doc": ["id": "ada", "name": "Ada L."], "prev": ["id": "ada", "name": "Ada"]])
            let metadata = try DocumentValue.parse(try #require(raw[1].metadata))
            #expect(metadata["source"] == ["id": "node-1", "name": "api", "class": "UserService", "region": "eu-west", "worker": "w7"])
            let ts = try #require(metadata["ts"]?.stringValue)
            #expect(ts == updated.ts)
            #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.contains("T"))
            #expect(try DocumentValue.parse(raw[2].data)["doc"] == nil)

            // The document event is in the same append, just before its change.
            var documentEvents: [RecordedEvent] = []
            for try await event in store.readStream("users-ada") { documentEvents.append(event) }
            #expect(documentEvents.map(\.position) == [inserted.bookmark - 1, updated.bookmark - 1, deleted.bookmark - 1])
            try await users.documents.close()
        }
    }

    @Test("without trackPrevious no change carries prev, and reads record nothing")
    func noPreviousAndReads() async throws {
        let store = InMemoryEventStore()
        let users = CDCCollection(try await openUsers(store))
        try await users.put("a", ["n": 1])
        let update = try await users.put("a", ["n": 2])
        #expect(update.type == .update && update.prev == nil && update.source == nil)
        let head = try await store.headPosition()
        #expect(try users.get("a")?.data == ["id": "a", "n": 2])
        #expect(try users.has("a") && !(try users.has("b")))
        #expect(try users.find(["n": 2]).map(\.key) == ["a"])
        #expect(try users.count() == 1)
        #expect(try users.list().map(\.key) == ["a"])
        #expect(try users.keys() == ["a"])
        #expect(try await store.headPosition() == head)
        let patched = try await CDCCollection(users.documents, options: CDCOptions(trackPrevious: true)).patch("a", ["m": 3], expectedChanges: 2)
        #expect(patched.type == .update && patched.doc == ["id": "a", "n": 2, "m": 3] && patched.prev == ["id": "a", "n": 2])
        #expect(try users.get("a")?.data == patched.doc)
        await #expect(throws: StrataError.self) { try await users.patch("missing", ["m": 1]) }
        await #expect(throws: StrataError.self) { try await users.patch("a", ["m": 1], expectedChanges: 1) }
        #expect(try await store.headPosition() == head + 2)
        let delete = try #require(try await users.delete("a"))
        #expect(delete.prev == nil)
        try await users.documents.close()
    }

    @Test("a failed write stores neither the document nor its change", arguments: CDCBackend.allCases)
    func failedWriteStoresNothing(backend: CDCBackend) async throws {
        try await backend.withStore("cdc-atomic") { store, _ in
            let users = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true))
            try await users.put("ada", ["name": "Ada"])
            let head = try await store.headPosition()
            await #expect(throws: StrataError.self) { try await users.put("ada", ["name": "X"], expectedChanges: 5) }
            await #expect(throws: StrataError.self) { try await users.put("ada", ["name": "X"], expectedChanges: 0) }
            await #expect(throws: StrataError.self) { try await users.put("new", ["name": "X"], expectedChanges: 1) }
            await #expect(throws: StrataError.self) { try await users.delete("ada", expectedChanges: 2) }
            await #expect(throws: StrataError.self) { try await users.delete("nobody", expectedChanges: 1) }
            await #expect(throws: StrataError.self) { try await users.put("ada", ["id": "other"]) }
            await #expect(throws: StrataError.self) { try await users.putMany([("b", ["n": 1]), ("c", .string("not an object"))]) }
            await #expect(throws: StrataError.self) { try await users.putMany([("b", ["n": 1]), ("b", ["n": 2])]) }
            #expect(try await store.headPosition() == head)
            #expect(try await users.changes().count == 1)
            #expect(try users.keys() == ["ada"])
            // A matching expectation goes through.
            let update = try await users.put("ada", ["name": "Ada 2"], expectedChanges: 1)
            #expect(update.type == .update && update.prev == ["id": "ada", "name": "Ada"])
            try await users.documents.close()
        }
    }

    @Test("the store refuses a change planned on a stale view; the write is planned again and records the truth")
    func staleViewNeverMakesAChangeLie() async throws {
        let inner = InMemoryEventStore()
        let store = GatedStore(inner)
        let mine = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true))
        let other = try await openUsers(inner)
        for round in 0 ..< 3 {
            try await store.close()
            // Another instance writes; this one's view cannot see it until a refused append.
            try await other.put("k", ["by": "other", "round": .int(Int64(round))])
            if round == 2 { try await other.delete("k") }
            let change = try await mine.put("k", ["by": "mine"])
            #expect(change.type == (round == 2 ? .insert : .update))
            #expect(change.prev == (round == 2 ? nil : ["id": "k", "by": "other", "round": .int(Int64(round))]))
        }
        #expect(store.refusals.withLock { $0 } == 3)
        // A stale delete records the version it actually deleted.
        try await other.put("gone", ["v": 1])
        try await mine.documents.sync()
        try await store.close()
        try await other.put("gone", ["v": 2])
        #expect(try await mine.delete("gone")?.prev == ["id": "gone", "v": 2])
        #expect(store.refusals.withLock { $0 } == 4)
        try await other.close()
        try await mine.documents.close()
    }

    @Test("putMany, deleteMany and clear are one append each, with a change per document")
    func bulkWrites() async throws {
        let store = InMemoryEventStore()
        let users = CDCCollection(try await openUsers(store), options: CDCOptions(trackPrevious: true))
        try await users.put("b", ["n": 0])
        let many = try await users.putMany([("a", ["n": 1]), ("b", ["n": 2]), ("c", ["n": 3])])
        #expect(many.map(\.type) == [.insert, .update, .insert])
        #expect(many[1].prev == ["id": "b", "n": 0])
        #expect(many.map(\.bookmark) == [many[0].bookmark, many[0].bookmark + 1, many[0].bookmark + 2])
        let head = try await store.headPosition()
        #expect(head == many[2].bookmark)

        let removed = try await users.deleteMany(["a", "missing", "a"])
        #expect(removed.map(\.docId) == ["a"])
        #expect(removed.first?.prev == ["id": "a", "n": 1])
        #expect(try await store.headPosition() == head + 2)   // one document event + one change

        #expect(try await users.deleteMany(["missing"]).isEmpty)
        let cleared = try await users.clear()
        #expect(cleared.map(\.docId) == ["b", "c"])
        #expect(cleared.allSatisfy { $0.type == .delete })
        #expect(try users.count() == 0)
        #expect(try await users.clear().isEmpty)
        #expect(try await users.changes().count == 1 + 3 + 1 + 2)
        try await users.documents.close()
    }

    @Test("emitChange records a change without a document write; bad changes are refused")
    func manualChanges() async throws {
        let store = InMemoryEventStore()
        let users = CDCCollection(try await openUsers(store), options: CDCOptions(source: SourceIdentity(id: "s")))
        let change = try await users.emitChange(.update, docId: "x", doc: ["v": 2], prev: ["v": 1])
        #expect(change.bookmark == 1)
        #expect(try await users.changes() == [change])
        #expect(try users.get("x") == nil)
        await #expect(throws: StrataError.self) { try await users.emitChange(.insert, docId: "x") }
        await #expect(throws: StrataError.self) { try await users.emitChange(.delete, docId: "x", doc: ["v": 1]) }
        await #expect(throws: StrataError.self) { try await users.emitChange(.delete, docId: "x", prev: "not an object") }
        await #expect(throws: StrataError.self) { try await users.emitChange(.delete, docId: "") }
        #expect(try await store.headPosition() == 1)
        try await users.documents.close()
    }

    @Test("the collection name cdc is reserved for change streams")
    func cdcNameReserved() async throws {
        await #expect(throws: StrataError.self) { try await openUsers(InMemoryEventStore(), collection: "cdc") }
    }
}
