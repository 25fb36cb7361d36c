import Foundation
import Strata
import StrataStorage
import StrataConformance
import StrataDocuments
import StrataLog
import StrataTestSupport
import Testing

@Suite("Document view persistence and replay", .serialized)
struct PersistenceTests {
    @Test("reopening resumes from the snapshot instead of replaying everything")
    func resume() async throws {
        let directory = try TemporaryDirectory("documents-resume").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try LogEventStore(directory: directory + "/log", configuration: LogConfiguration(durability: .none))
        let counting = CountingStore(log)
        let options = DocumentStoreOptions(directory: directory + "/views", snapshotEvery: 10, indexes: ["n"])
        let first = try await openUsers(counting, options)
        try await first.putMany((0 ..< 100).map { (key: "k\($0)", data: ["n": .int(Int64($0))]) })
        try await first.delete("k0")
        try await first.close()
        #expect(FileManager.default.fileExists(atPath: directory + "/views/users.view.json"))

        // Written while the collection is closed (by another, memory-only instance).
        let writer = try await openUsers(log)
        try await writer.put("late", ["n": 1000])
        try await writer.close()

        counting.reset()
        let reopened = try await openUsers(counting, options)
        #expect(counting.eventsRead == 1)                 // only the event written while closed
        #expect(try reopened.count() == 100)
        #expect(try reopened.get("k0") == nil)
        #expect(try reopened.get("late")?.data["n"] == 1000)
        #expect(try reopened.query(["n": 42]).map(\.key) == ["k42"])     // indexes rebuilt
        #expect(try reopened.explain(["n": 42]).strategy == .equality)
        let replay = try await openUsers(log)
        #expect(try replay.query(.all) == reopened.query(.all))
        try await replay.close()
        try await reopened.close()
        try await log.close()
    }

    @Test("a snapshot of another format version is refused")
    func unsupportedVersion() async throws {
        let directory = try TemporaryDirectory("documents-version").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(#"{"version":99,"collection":"users","position":1,"documents":[],"tombstones":[],"parked":[]}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/users.view.json"))
        await #expect(throws: StrataError.self) {
            try await openUsers(InMemoryEventStore(), DocumentStoreOptions(directory: directory))
        }
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory + "/users.view.json"))
        await #expect(throws: StrataError.self) {
            try await openUsers(InMemoryEventStore(), DocumentStoreOptions(directory: directory))
        }
    }

    @Test("a snapshot ahead of the store (another store's) is refused, not trusted")
    func snapshotAheadOfStore() async throws {
        let directory = try TemporaryDirectory("documents-ahead").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await openUsers(InMemoryEventStore(), DocumentStoreOptions(directory: directory))
        try await first.put("a", ["v": 1])
        try await first.put("b", ["v": 2])
        try await first.close()
        let other = InMemoryEventStore()
        try await other.append(to: "elsewhere", events: [EventData(type: "x", json: "{}")])
        await #expect(throws: StrataError.checkpointOfAnotherStore(consumer: "documents-users", recorded: try await first.store.identity().value,
                                                                   actual: try await other.identity().value)) {
            try await openUsers(other, DocumentStoreOptions(directory: directory))
        }
    }

    @Test("a malformed event in the collection is parked and the view goes on")
    func parksBadEvents() async throws {
        let store = InMemoryEventStore()
        let users = try await openUsers(store)
        try await store.append(to: "users-bad", events: [EventData(type: "document.put", json: #"{"v":1,"key":"bad"}"#)])
        try await store.append(to: "users-evil", events: [EventData(type: "document.put", json: #"{"v":1,"key":"other","data":{}}"#)])
        try await users.put("good", ["ok": true])
        #expect(try users.get("good") != nil)
        #expect(try users.get("bad") == nil && users.get("other") == nil)
        let parked = try await users.parkedEvents()
        #expect(parked.map(\.stream) == ["users-bad", "users-evil"])
        #expect(try await users.status().parkedEvents == 2)
        try await users.close()
    }

    static var seeds: [UInt64] {
        ProcessInfo.processInfo.environment["STRATA_PROPERTY_SEEDS"] == nil ? [1, 2, 3] : ConformanceSuite.propertySeeds
    }

    static var operations: Int {
        ProcessInfo.processInfo.environment["STRATA_PROPERTY_OPS"].flatMap { Int($0) } ?? 300
    }

    @Test("property: random puts, patches and deletes give identical documents and meta live, reopened and replayed", arguments: seeds)
    func property(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let directory = try TemporaryDirectory("documents-property-\(seed)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock(1_700_000_000_000_000)
        let store = InMemoryEventStore(clock: { clock.now })
        let options = DocumentStoreOptions(directory: directory, snapshotEvery: 25, indexes: ["n", "tags"])
        var live = try await openUsers(store, options)
        let follower = try await openUsers(store)
        let keys = (0 ..< 12).map { "key-\($0)" }
        func randomValue(_ r: inout SplitMix64, depth: Int = 0) -> DocumentValue {
            switch r.next() % (depth > 1 ? 4 : 6) {
            case 0: return .int(Int64(r.next() % 100))
            case 1: return .double(Double(r.next() % 1000) / 8)
            case 2: return .string(["a", "b", "é", "x y"][Int(r.next() % 4)])
            case 3: return .bool(r.next() & 1 == 0)
            case 4: return .array((0 ..< Int(r.next() % 4)).map { _ in randomValue(&r, depth: depth + 1) })
            default: return .object(Dictionary(uniqueKeysWithValues: (0 ..< Int(r.next() % 3)).map { ("f\($0)", randomValue(&r, depth: depth + 1)) }))
            }
        }
        func randomObject(_ r: inout SplitMix64, nulls: Bool) -> DocumentValue {
            var members: [String: DocumentValue] = [:]
            for field in ["n", "tags", "name", "nested"] where r.next() % 3 != 0 {
                members[field] = nulls && r.next() % 4 == 0 ? .null : randomValue(&r)
            }
            return .object(members)
        }
        // An independent model of data and changes (RFC 7396 written out again here).
        func merge(_ target: DocumentValue, _ patch: DocumentValue) -> DocumentValue {
            guard case .object(let p) = patch else { return patch }
            var t = target.objectValue ?? [:]
            for (k, v) in p { if v == .null { t[k] = nil } else { t[k] = merge(t[k] ?? .null, v) } }
            return .object(t)
        }
        var model: [String: (data: DocumentValue, changes: Int, modified: Int64)] = [:]
        for step in 0 ..< Self.operations {
            // Time moves forward by 0–3 ms, often not at all, so same-millisecond updates occur.
            clock.set(clock.now + Int64(random.next() % 4) * 1000 + Int64(random.next() % 1000))
            let key = keys[Int(random.next() % UInt64(keys.count))]
            let exists = try live.get(key) != nil
            #expect(exists == (model[key] != nil))
            var written: Document?
            switch random.next() % 10 {
            case 0 ..< 5:
                var doc = randomObject(&random, nulls: false)
                written = try await live.put(key, doc)
                doc["id"] = .string(key)
                model[key] = (doc, (model[key]?.changes ?? 0) + 1, model[key]?.modified ?? .min)
            case 5 ..< 8:
                if exists {
                    let patch = randomObject(&random, nulls: true)
                    written = try await live.patch(key, patch)
                    model[key] = (merge(model[key]!.data, patch), model[key]!.changes + 1, model[key]!.modified)
                }
            case 8:
                #expect(try await live.delete(key) == exists)
                model[key] = nil
            default:
                if step % 3 == 0 {
                    try await live.close()
                    live = try await openUsers(store, options)
                }
            }
            if let written {
                let expected = model[key]!
                #expect(written.data == expected.data && written.meta.changes == expected.changes, "seed \(seed) step \(step)")
                #expect(written.meta.modifiedMilliseconds > expected.modified, "seed \(seed) step \(step): dateModified did not advance")
                model[key]!.modified = written.meta.modifiedMilliseconds
            }
        }
        #expect(try live.query(.all).map { "\($0.key) \($0.data) \($0.meta.changes)" }
                == model.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "\($0) \(model[$0]!.data) \(model[$0]!.changes)" })
        try await follower.sync()
        let snapshot = try live.query(.all)
        try await live.close()
        let reopened = try await openUsers(store, options)
        let replay = try await openUsers(store)
        #expect(try follower.query(.all) == snapshot, "seed \(seed): live follower differs")
        #expect(try reopened.query(.all) == snapshot, "seed \(seed): reopened differs")
        #expect(try replay.query(.all) == snapshot, "seed \(seed): fresh replay differs")
        #expect(try replay.query(["n": ["$gte": 10]]) == reopened.query(["n": ["$gte": 10]]), "seed \(seed): indexed range differs")
        try await follower.close()
        try await reopened.close()
        try await replay.close()
    }
}

/// Forwards to a store and counts the events `$all` pages return.
final class CountingStore: ForwardingEventStore, @unchecked Sendable {
    let base: any EventStore
    private let lock = NSLock()
    private var count = 0
    init(_ base: any EventStore) { self.base = base }
    var forwardee: any EventStore { base }
    var eventsRead: Int { lock.withLock { count } }
    func reset() { lock.withLock { count = 0 } }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        let page = try await base.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
        lock.withLock { count += page.events.count }
        return page
    }
}
