import Foundation
import Strata
import StrataDocuments
import StrataTestSupport
import Testing

@Suite("README: the CDC section")
struct ReadmeCDCExampleTests {
    @Test("the README's CDC, snapshot and point-in-time example runs as written")
    func readmeExample() async throws {
        let store = InMemoryEventStore()
        let backups = try TemporaryDirectory("documents-readme-cdc").path
        defer { try? FileManager.default.removeItem(atPath: backups) }
        // From README.md, "Change data capture, snapshots and point-in-time restore" ("./backups" → a scratch folder).
        let users = CDCCollection(try await DocumentStore.open(store: store, collection: "users"),
                                  options: CDCOptions(trackPrevious: true))
        let created = try await users.put("ada", ["name": "Ada"])             // collection.insert on stream cdc-users
        let renamed = try await users.put("ada", ["name": "Ada Lovelace"])    // collection.update, prev: the old document
        let snapshot = try await DocumentSnapshots(root: backups).create(storeId: "shop-1", collections: [users.documents])
        let then = try await DocumentTimeline(store: store).state(of: "users", at: .position(created.bookmark))
        try await DocumentTimeline(store: store).restore([users], to: .position(created.bookmark))   // one atomic append

        #expect(created.type == .insert && renamed.type == .update)
        #expect(renamed.prev == ["id": "ada", "name": "Ada"])
        #expect(snapshot.totalDocs == 1)
        #expect(try then.get("ada")?.data == ["id": "ada", "name": "Ada"])
        #expect(try users.get("ada")?.data == ["id": "ada", "name": "Ada"])
        #expect(try await users.changes().map(\.type) == [.insert, .update, .update])
        try await users.documents.close()
    }
}
