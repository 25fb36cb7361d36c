import Strata
import StrataDocuments
import Testing

@Suite("README: the documents section")
struct ReadmeDocumentsExampleTests {
    @Test("the README's documents example runs as written")
    func readmeExample() async throws {
        let store = InMemoryEventStore()
        // From README.md, "Documents: an event-sourced document database".
        let users = try await DocumentStore.open(store: store, collection: "users",
                                                 options: DocumentStoreOptions(indexes: ["city"]))
        let ada = try await users.put("ada", ["name": "Ada", "age": 36, "city": "London"])   // meta.changes == 1
        try await users.patch("ada", ["age": 37])                                           // JSON merge patch
        let londoners = try users.query(["city": "London", "age": ["$gte": 18]],
                                        options: QueryOptions(sort: [.descending("age")], limit: 10))
        let changes = try users.subscribe(["city": "London"])     // AsyncSequence of DocumentChange

        #expect(ada.meta.changes == 1)
        #expect(londoners.map(\.data) == [["id": "ada", "name": "Ada", "age": 37, "city": "London"]])
        try await users.put("bob", ["city": "London"])
        #expect(try await nextChanges(changes, 1).first?.key == "bob")
        try await users.close()
    }
}
