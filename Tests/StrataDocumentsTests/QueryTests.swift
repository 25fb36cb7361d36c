import Foundation
import Strata
import StrataDocuments
import Testing

@Suite("Document queries: one evaluator for query, count and subscribe")
struct QueryTests {
    static let people: [(String, DocumentValue)] = [
        ("alice", ["name": "Alice", "age": 30, "tags": ["admin", "dev"], "address": ["city": "Paris", "zip": "75001"], "score": 9.5]),
        ("bob", ["name": "Bob", "age": 25, "tags": ["dev"], "address": ["city": "Lyon"], "active": true]),
        ("carol", ["name": "Carol", "age": 35, "tags": ["ops", "dev", "admin"], "address": ["city": "Paris"], "score": 7]),
        ("dave", ["name": "Dave", "age": "30", "tags": [], "active": false]),
        ("erin", ["name": "Erin", "age": 40.0, "address": ["city": "Nice"], "items": [["sku": "a1", "qty": 2], ["sku": "b2", "qty": 5]]]),
    ]

    static func collection(indexes: [String] = []) async throws -> DocumentStore {
        let users = try await openUsers(InMemoryEventStore(), DocumentStoreOptions(indexes: indexes))
        try await users.putMany(people.map { (key: $0.0, data: $0.1) })
        return users
    }

    static let table: [(filter: String, keys: [String])] = [
        (#"{}"#, ["alice", "bob", "carol", "dave", "erin"]),
        (#"{"name": "Alice"}"#, ["alice"]),
        (#"{"name": {"$eq": "Bob"}}"#, ["bob"]),
        (#"{"age": 30}"#, ["alice"]),                               // 30 never equals "30"
        (#"{"age": "30"}"#, ["dave"]),
        (#"{"age": 40}"#, ["erin"]),                                // 40 equals 40.0
        (#"{"age": {"$ne": 30}}"#, ["bob", "carol", "dave", "erin"]),
        (#"{"active": {"$ne": true}}"#, ["alice", "carol", "dave", "erin"]),  // missing matches $ne
        (#"{"age": {"$gt": 30}}"#, ["carol", "erin"]),              // the string "30" is not a number
        (#"{"age": {"$gte": 30}}"#, ["alice", "carol", "erin"]),
        (#"{"age": {"$lt": 30}}"#, ["bob"]),
        (#"{"age": {"$lte": 30}}"#, ["alice", "bob"]),
        (#"{"age": {"$gt": 20, "$lt": 36}}"#, ["alice", "bob", "carol"]),
        (#"{"name": {"$gt": "C"}}"#, ["carol", "dave", "erin"]),
        (#"{"name": {"$in": ["Alice", "Erin", "Zed"]}}"#, ["alice", "erin"]),
        (#"{"age": {"$in": [25, "30"]}}"#, ["bob", "dave"]),
        (#"{"name": {"$nin": ["Alice", "Bob"]}}"#, ["carol", "dave", "erin"]),
        (#"{"active": {"$nin": [true]}}"#, ["alice", "carol", "dave", "erin"]),
        (#"{"age": {"$not": {"$gt": 30}}}"#, ["alice", "bob", "dave"]),
        (#"{"tags": "dev"}"#, ["alice", "bob", "carol"]),            // arrays match element by element
        (#"{"tags": {"$all": ["admin", "dev"]}}"#, ["alice", "carol"]),
        (#"{"tags": {"$in": ["ops"]}}"#, ["carol"]),
        (#"{"tags": ["dev"]}"#, ["bob"]),                            // a whole-array operand equals the array
        (#"{"tags": {"$size": 1}}"#, []),
        (#"{"score": {"$exists": true}}"#, ["alice", "carol"]),
        (#"{"score": {"$exists": false}}"#, ["bob", "dave", "erin"]),
        (#"{"active": null}"#, ["alice", "carol", "erin"]),          // null matches a missing field
        (#"{"$or": [{"age": {"$lt": 26}}, {"address.city": "Nice"}]}"#, ["bob", "erin"]),
        (#"{"$and": [{"tags": "dev"}, {"address.city": "Paris"}]}"#, ["alice", "carol"]),
        (#"{"address.city": "Paris"}"#, ["alice", "carol"]),         // nested paths
        (#"{"address.zip": {"$exists": true}}"#, ["alice"]),
        (#"{"items.sku": "b2"}"#, ["erin"]),                         // through arrays of objects
        (#"{"items.qty": {"$gt": 4}}"#, ["erin"]),
        (#"{"items.0.sku": "a1"}"#, ["erin"]),
        (#"{"name": {"$regex": "^[ab]", "$options": "i"}}"#, ["alice", "bob"]),
        (#"{"name": {"$sw": "Ca"}}"#, ["carol"]),
        (#"{"address": {"city": "Lyon"}}"#, ["bob"]),               // a plain object is whole-value equality
    ]

    @Test("the query table: each filter finds exactly its documents, and count agrees", arguments: table.indices)
    func queryTable(_ row: Int) async throws {
        let (text, expected) = Self.table[row]
        let users = try await Self.collection()
        defer { Task { try? await users.close() } }
        if text.contains("$size") {
            #expect(throws: StrataError.self) { try DocumentFilter(json: text) }
            return
        }
        let filter = try DocumentFilter(json: text)
        let found = try users.query(filter).map(\.key)
        #expect(found == expected, "filter \(text)")
        #expect(try users.count(filter) == expected.count, "count of \(text)")
        // The same answers through indexes on every field the table touches.
        let indexed = try await Self.collection(indexes: ["name", "age", "tags", "address.city", "items.qty", "active"])
        #expect(try indexed.query(filter).map(\.key) == expected, "indexed filter \(text)")
        #expect(try indexed.count(filter) == expected.count)
        try await indexed.close()
    }

    @Test("unknown operators are typed errors, never a silent no-match")
    func unknownOperator() throws {
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"{"age": {"$gtx": 5}}"#) }
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"{"$nor": []}"#) }
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"{"age": {"$gt": 5, "plain": 1}}"#) }
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"{"name": {"$regex": "("}}"#) }
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"[1]"#) }
        #expect(throws: StrataError.self) { try DocumentFilter(json: #"{"a..b": 1}"#) }
    }

    @Test("a catastrophic $regex fails the query with timedOut and ends a subscription using it")
    func hostileRegex() async throws {
        let users = try await openUsers(InMemoryEventStore())
        let hostile = try DocumentFilter(json: #"{"s": {"$regex": "^(a+)+$"}}"#)
        let subscription = try users.subscribe(hostile)
        try await users.put("evil", ["s": .string(String(repeating: "a", count: 40) + "!")])
        let started = ContinuousClock.now
        #expect {
            try users.query(hostile)
        } throws: { error in
            if case StrataError.timedOut = error { return true }
            return false
        }
        #expect(throws: StrataError.self) { try users.count(hostile) }
        await #expect(throws: StrataError.self) { for try await _ in subscription {} }
        // The budget is 50 ms; without it the pattern runs for hours. A bound far from both holds
        // on a loaded machine.
        #expect(ContinuousClock.now - started < .seconds(60))
        try await users.close()
    }

    @Test("sort with several keys, limit and offset; order across types is defined")
    func sortLimitOffset() async throws {
        let users = try await Self.collection()
        let byAge = try users.query(.all, options: QueryOptions(sort: [.ascending("age")])).map(\.key)
        #expect(byAge == ["bob", "alice", "carol", "erin", "dave"])      // numbers before strings
        let desc = try users.query(.all, options: QueryOptions(sort: [.descending("age")], limit: 2, offset: 1)).map(\.key)
        #expect(desc == ["erin", "carol"])
        let twoKeys = try users.query(try DocumentFilter(json: #"{"tags": "dev"}"#),
                                      options: QueryOptions(sort: [.ascending("address.city"), .descending("age")])).map(\.key)
        #expect(twoKeys == ["bob", "carol", "alice"])
        let missingFirst = try users.query(.all, options: QueryOptions(sort: [.ascending("score")])).map(\.key)
        #expect(missingFirst == ["bob", "dave", "erin", "carol", "alice"])
        #expect(try users.query(.all, options: QueryOptions(limit: 0)).isEmpty)
        #expect(try users.query(.all, options: QueryOptions(offset: 10)).isEmpty)
        #expect(throws: StrataError.self) { try users.query(.all, options: QueryOptions(offset: -1)) }
        try await users.close()
    }

    @Test("query options parse from JSON, with several sort keys in order")
    func optionsFromJSON() async throws {
        let users = try await Self.collection()
        let options = try QueryOptions(json: try DocumentValue.parse(#"{"sort": [{"address.city": 1}, "-age"], "limit": 2, "offset": 1, "project": ["name"]}"#))
        let found = try users.query(["tags": "dev"], options: options)
        #expect(found.map(\.data) == [["id": "carol", "name": "Carol"], ["id": "alice", "name": "Alice"]])
        #expect(try QueryOptions(json: ["sort": "-age"]).sort == [.descending("age")])
        for bad: DocumentValue in [["sort": ["a": 2]], ["limit": -1], ["project": [1]], ["page": 1], ["sort": ["a": 1, "b": 1]]] {
            #expect(throws: StrataError.self, "\(bad)") { try QueryOptions(json: bad) }
        }
        try await users.close()
    }

    @Test("project keeps the listed paths and the id")
    func project() async throws {
        let users = try await Self.collection()
        let projected = try users.query(["name": "Alice"], options: QueryOptions(project: ["name", "address.city", "nothing"]))
        #expect(projected.map(\.data) == [["id": "alice", "name": "Alice", "address": ["city": "Paris"]]])
        try await users.close()
    }

    @Test("explain names the index a query uses, or a full scan")
    func explain() async throws {
        let users = try await Self.collection(indexes: ["name", "age", "address.city"])
        #expect(try users.explain(["name": "Alice"]) == QueryPlan(index: "name", strategy: .equality))
        #expect(try users.explain(["age": ["$in": [1, 2]]]).strategy == .equality)
        #expect(try users.explain(["age": ["$gte": 30]]) == QueryPlan(index: "age", strategy: .range))
        #expect(try users.explain(["name": ["$sw": "A"]]) == QueryPlan(index: "name", strategy: .prefix))
        #expect(try users.explain(["address.city": "Paris", "tags": "dev"]) == QueryPlan(index: "address.city", strategy: .equality))
        #expect(try users.explain(["tags": "dev"]) == QueryPlan(index: nil, strategy: .fullScan))
        #expect(try users.explain(["name": .null]).strategy == .fullScan)
        #expect(try users.explain(["$or": [["name": "A"], ["age": 1]]]).strategy == .fullScan)
        // Indexes follow writes.
        try await users.put("zoe", ["name": "Zoe", "age": 30])
        try await users.patch("alice", ["age": 31])
        try await users.delete("bob")
        #expect(try users.query(["age": 30]).map(\.key) == ["zoe"])
        #expect(try users.query(["age": ["$gt": 30]]).map(\.key) == ["alice", "carol", "erin"])
        #expect(try users.query(["age": ["$lt": 30]]).isEmpty)
        #expect(try users.query(["name": ["$sw": "Z"]]).map(\.key) == ["zoe"])
        try await users.close()
    }

    @Test("JSON values parse and print back exactly")
    func jsonRoundTrip() throws {
        let text = #"{"a":[1,-2,3.5,1e+300,true,false,null],"b":{"c":"\"q\"\n\u00e9\ud83d\ude00"},"big":9223372036854775807,"neg":-9223372036854775808}"#
        let value = try DocumentValue.parse(text)
        #expect(value["big"] == .int(.max))
        #expect(value["neg"] == .int(.min))
        #expect(value["b"]?["c"] == .string("\"q\"\né😀"))
        #expect(try DocumentValue.parse(value.jsonString) == value)
        for bad in ["{", "[1,]", "{\"a\":}", "01", "\"\\x\"", "1 2", "nul", "\"\u{1}\""] {
            #expect(throws: StrataError.self, "\(bad)") { try DocumentValue.parse(bad) }
        }
    }
}
