import Foundation
import Strata
import StrataDocuments

/// The document database on a backend: batched puts through the view (read-your-writes
/// included), gets from the materialized view, and an indexed equality query over the whole
/// collection.
enum DocumentWorkloads {
    static let cities = (0 ..< 50).map { "city-\($0)" }

    /// A ~150-byte document; `group` has `count / 10` distinct values (10 documents each).
    static func document(_ i: Int, groups: Int) -> DocumentValue {
        ["name": .string("user \(i)"), "email": .string("user\(i)@example.com"), "age": .int(Int64(i % 90)),
         "city": .string(cities[i % cities.count]), "group": .string("g\(i % groups)"), "active": .bool(i % 3 == 0)]
    }

    /// Opens a collection indexed on `group` and puts `count` documents in batches of `batch`,
    /// `writers` batches at a time. Returns the collection and the puts per second (each batch
    /// returns once the view applied it).
    static func puts(_ store: any EventStore, count: Int, batch: Int, writers: Int) async throws -> (DocumentStore, Double) {
        let documents = try await DocumentStore.open(store: store, collection: "bench",
                                                     options: DocumentStoreOptions(indexes: ["group"], batchSize: 4096))
        let groups = max(1, count / 10)
        // Built before timing: the benchmark measures the store, not the building of test values.
        var batches: [[(key: String, data: DocumentValue)]] = []
        var current: [(key: String, data: DocumentValue)] = []
        for i in 0 ..< count {
            current.append((key: "user-\(i)", data: document(i, groups: groups)))
            if current.count == batch { batches.append(current); current = [] }
        }
        if !current.isEmpty { batches.append(current) }
        // `writers` batches in flight, as concurrent clients would send them: one batch's append
        // overlaps another's apply by the view.
        let seconds = try await Stopwatch.time {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                for _ in 0 ..< min(writers, batches.count) {
                    let batch = batches[next]
                    next += 1
                    group.addTask { _ = try await documents.putMany(batch) }
                }
                while try await group.next() != nil {
                    guard next < batches.count else { continue }
                    let batch = batches[next]
                    next += 1
                    group.addTask { _ = try await documents.putMany(batch) }
                }
            }
        }
        try ReadWorkloads.check(try documents.count(), count, "documents.put.batch1000")
        return (documents, Double(count) / seconds)
    }

    /// Gets `count` documents by key (cycling through the collection). Returns gets per second.
    static func gets(_ documents: DocumentStore, collectionSize: Int, count: Int) throws -> Double {
        let keys = (0 ..< min(collectionSize, 100_000)).map { "user-\($0 * max(1, collectionSize / 100_000))" }
        var found = 0
        let start = Stopwatch.now()
        for i in 0 ..< count where try documents.get(keys[i % keys.count]) != nil { found += 1 }
        let seconds = Stopwatch.seconds(since: start)
        try ReadWorkloads.check(found, count, "documents.get")
        return Double(count) / seconds
    }

    /// Runs `queries` equality queries on the indexed `group` field; returns the mean
    /// microseconds per query. Each returns its 10 documents, sorted by key.
    static func indexedEquality(_ documents: DocumentStore, collectionSize: Int, queries: Int) throws -> Double {
        let groups = max(1, collectionSize / 10)
        let filters = try (0 ..< queries).map { try DocumentFilter(["group": .string("g\(($0 * 7919) % groups)")]) }
        guard documents.explain(filters[0]).strategy == .equality else {
            throw StrataError.invalidArgument("documents.query.indexed_eq: the query does not use the index")
        }
        var returned = 0
        let start = Stopwatch.now()
        for filter in filters { returned += try documents.query(filter).count }
        let seconds = Stopwatch.seconds(since: start)
        try ReadWorkloads.check(returned, queries * min(10, collectionSize), "documents.query.indexed_eq")
        return seconds * 1_000_000 / Double(queries)
    }
}
