import Foundation
import Strata
import StrataDocuments
import StrataLog
import StrataTestSupport
import Testing

/// Erasing a document (issue 17): from the log, the view, the view's snapshot and snapshot files.
@Suite("Document erasure")
struct DocumentErasureTests {
    @Test("an erased document is gone from the view, the store's files, the view snapshot and the snapshot files; others stay")
    func erase() async throws {
        let directory = try TemporaryDirectory("documents-erase")
        defer { directory.remove() }
        let store = try LogEventStore(directory: directory.path + "/log")
        let options = DocumentStoreOptions(directory: directory.path + "/views", indexes: ["email"])
        var users = try await DocumentStore.open(store: store, collection: "users", options: options)
        try await users.put("ada", ["email": "SECRET-ADA-XYZ", "age": 36])
        try await users.patch("ada", ["city": "SECRET-CITY-XYZ"])
        try await users.put("bob", ["email": "bob@example.com", "age": 40])
        let snapshots = DocumentSnapshots(root: directory.path + "/backups")
        _ = try await snapshots.create(storeId: "shop", collections: [users])

        let report = try await users.erase("ada", reason: "request 1")
        #expect(report.eventsErased == 2)
        #expect(try snapshots.erase(collection: "users", key: "ada") == 1)
        #expect(try users.get("ada") == nil)
        #expect(try users.query(["email": "SECRET-ADA-XYZ"]).isEmpty, "the index forgot it")
        #expect(try users.count([:]) == 1)
        try await users.close()

        for file in try FileManager.default.subpathsOfDirectory(atPath: directory.path) {
            let path = directory.path + "/" + file
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            #expect(!text.contains("SECRET-"), "erased document data found in \(file)")
        }
        users = try await DocumentStore.open(store: store, collection: "users", options: options)
        #expect(try users.get("ada") == nil)
        #expect(try users.get("bob") != nil)
        await #expect(throws: StrataError.self) { try await users.put("ada", ["email": "again"]) }
        try await users.close()
        try await store.close()
    }
}
