import Foundation
import Strata
import StrataDocuments
import Testing

/// Typed documents (issue 19, eventbase's generic API): `Codable` values in and out, queries
/// from typed fields, evaluated by the same filter as the untyped and HTTP APIs.
@Suite("Typed document collections")
struct TypedCollectionTests {
    enum Status: String, Codable, Sendable, DocumentFieldValue { case active, pending, gone }
    struct Address: Codable, Sendable, Equatable { var city: String }
    struct User: Codable, Sendable, Equatable {
        var name: String
        var age: Int
        var status: Status
        var tags: [String]
        var address: Address
        var nickname: String?
    }

    static let age = DocumentField<User, Int>("age")
    static let status = DocumentField<User, Status>("status")
    static let name = DocumentField<User, String>("name")
    static let tags = DocumentField<User, [String]>("tags")
    static let city = DocumentField<User, String>("address.city")
    static let nickname = DocumentField<User, String?>("nickname")

    @Test("values round-trip; typed queries select exactly what the untyped filter does; meta is kept")
    func roundTripAndQueries() async throws {
        let users = TypedCollection<User>(try await DocumentStore.open(store: InMemoryEventStore(), collection: "users"))
        let ada = User(name: "Ada", age: 36, status: .active, tags: ["math", "engines"], address: Address(city: "London"), nickname: "Countess")
        let bob = User(name: "Bob", age: 17, status: .pending, tags: ["music"], address: Address(city: "Paris"), nickname: nil)
        let cy = User(name: "Cy", age: 70, status: .gone, tags: [], address: Address(city: "London"), nickname: nil)
        let stored = try await users.put("ada", ada)
        #expect(stored.value == ada && stored.meta.changes == 1)
        try await users.put("bob", bob)
        let inserted = try await users.insert(cy)
        #expect(try users.get("ada")?.value == ada)
        #expect(try users.get("nobody") == nil)
        #expect(try users.get(inserted.key)?.value == cy)

        func names(_ filter: TypedFilter<User>, _ options: QueryOptions = QueryOptions()) throws -> [String] {
            try users.query(filter, options: options).map(\.value.name)
        }
        let byName = QueryOptions(sort: [.ascending("name")])
        #expect(try names(Self.age >= 18, byName) == ["Ada", "Cy"])
        #expect(try names(Self.age >= 18 && Self.age <= 65) == ["Ada"])
        #expect(try names(Self.status.in([.active, .pending]), byName) == ["Ada", "Bob"])
        #expect(try names(Self.status == .gone || Self.age < 18, byName) == ["Bob", "Cy"])
        #expect(try names(Self.city == "London" && Self.status != .active) == ["Cy"])
        #expect(try names(Self.tags.contains("music")) == ["Bob"])
        #expect(try names(Self.tags.containsAll(["engines", "math"])) == ["Ada"])
        #expect(try names(Self.nickname == nil, byName) == ["Bob", "Cy"], "nil matches null and a missing member")
        #expect(try names(Self.name.hasPrefix("C")) == ["Cy"])
        #expect(try names(try Self.name.matches("^a", options: "i")) == ["Ada"])
        #expect(try names(Self.status.notIn([.gone]), byName) == ["Ada", "Bob"])
        #expect(try users.count(Self.age > 16) == 3 && users.count() == 3)
        // The same documents through the untyped filter.
        #expect(try users.documents.count(try DocumentFilter(["age": ["$gte": 18], "status": ["$in": ["active", "pending"]]]))
                == users.count(Self.age >= 18 && Self.status.in([.active, .pending])))
        #expect(try await users.delete("bob") && users.get("bob") == nil)
    }

    @Test("a stored document of another shape is an error naming its key; a value that is not an object is refused")
    func decodingErrors() async throws {
        let documents = try await DocumentStore.open(store: InMemoryEventStore(), collection: "users")
        try await documents.put("odd", ["name": "Odd", "age": "not a number"])
        let users = TypedCollection<User>(documents)
        #expect(throws: StrataError.self) { try users.get("odd") }
        do {
            _ = try users.query()
            Issue.record("a query decoded a document of another shape")
        } catch StrataError.invalidArgument(let reason) {
            #expect(reason.contains("users/odd") && reason.contains("User"), "\(reason)")
        }
        let numbers = TypedCollection<Int>(documents)
        await #expect(throws: StrataError.self) { try await numbers.put("n", 5) }
        #expect(try documents.get("n") == nil, "nothing stored")
    }
}
