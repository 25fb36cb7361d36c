import Foundation
import Strata
import StrataMigration
import StrataTestSupport
import Testing

/// `@dotdo/events` lakehouse files, laid out by hand as its seed document gives them
/// (`events/{year}/{month}/{day}/{hour}/{do_id}_{timestamp}.jsonl`, each line a DurableEvent),
/// imported exactly (issue 19).
@Suite("importing dotdo lakehouse files")
struct DotdoLakehouseImportTests {
    @Test("files in time order, lines in order, with their bytes, types, times, Durable Objects and derived ids; a second import stores nothing")
    func importsExactly() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        func write(_ path: String, _ lines: [String]) throws {
            let full = root.appending(path)
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try (lines.joined(separator: "\n") + "\n").write(toFile: full, atomically: true, encoding: .utf8)
        }
        let rpc = #"{"type":"rpc.call","ts":"2024-01-15T14:00:00.100Z","do":{"id":"abc123","name":"counter","class":"Counter","colo":"LHR","worker":"api"},"method":"increment","durationMs":3,"success":true}"#
        let cdc = #"{"type":"collection.insert","ts":"2024-01-15T14:00:00.200Z","do":{"id":"abc123"},"collection":"users","docId":"u1","doc":{"name":"Ada"},"bookmark":"b1"}"#
        let later = #"{"type":"lifecycle","ts":"2024-01-15T15:10:00Z","do":{"id":"def456"},"reason":"evicted"}"#
        let sameHour = #"{"type":"ws.connect","ts":"2024-01-15T14:30:00Z","do":{"id":"abc123"},"connectionCount":1}"#
        try write("events/2024/01/15/15/def456_1705331400000.jsonl", [later])
        try write("events/2024/01/15/14/abc123_1705329600000.jsonl", [rpc, cdc, "{torn"])
        try write("events/2024/01/15/14/abc123_1705331000000.jsonl", [sameHour])
        try write("events/2024/01/15/14/notes.txt", ["ignored"])
        try write("events/2024/01/15/README.jsonl", ["ignored: not in an hour folder"])

        let importer = try DotdoLakehouseImport()
        #expect(try importer.files(in: root.path).map { ($0 as NSString).lastPathComponent }
                == ["abc123_1705329600000.jsonl", "abc123_1705331000000.jsonl", "def456_1705331400000.jsonl"])
        let store = InMemoryEventStore()
        let summary = try await importer.run(root: root.path, into: store)
        #expect(summary.files == 3 && summary.events == 4 && summary.imported == 4)
        #expect(summary.problems.map(\.line) == [3])

        let events = try await store.readStream("dotdo").collect()
        #expect(events.map(\.type) == ["rpc.call", "collection.insert", "ws.connect", "lifecycle"])
        #expect(events.map { String(decoding: $0.data, as: UTF8.self) } == [rpc, cdc, sameHour, later])
        #expect(events[0].id == NameBasedUUID.make(namespace: DotdoLakehouseImport.namespace, name: "events/2024/01/15/14/abc123_1705329600000.jsonl:0"))
        #expect(String(decoding: events[0].metadata ?? Data(), as: UTF8.self)
                == #"{"ts":"2024-01-15T14:00:00.100Z","source":{"id":"abc123","name":"counter","class":"Counter","region":"LHR","worker":"api"},"dotdo":{"file":"events/2024/01/15/14/abc123_1705329600000.jsonl","line":1}}"#)
        #expect(String(decoding: events[3].metadata ?? Data(), as: UTF8.self)
                == #"{"ts":"2024-01-15T15:10:00Z","source":{"id":"def456"},"dotdo":{"file":"events/2024/01/15/15/def456_1705331400000.jsonl","line":1}}"#)

        #expect(try await importer.run(root: root.path, into: store).imported == 0)
        #expect(throws: StrataError.self) { try DotdoLakehouseImport().files(in: root.appending("events/2024")) }
    }
}
