import Foundation
import Strata
import StrataMigration
import StrataTestSupport
import Testing

/// `@rymdtiden/eventlog`'s daily files, written by hand from the seed's description (one JSON
/// event per line, files named by `events-%y-%m-%d.log`, positions YYYYMMDD + an 8-digit counter
/// of the day's events), imported exactly (issue 19).
@Suite("importing eventlog files")
struct EventlogImportTests {
    @Test("name-based UUIDs are RFC 9562 version 5 (the RFC's example)")
    func uuidV5() {
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(NameBasedUUID.make(namespace: dns, name: "www.example.com").uuidString.lowercased() == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    }

    @Test("daily files are imported in day and line order with their bytes, types, positions and derived ids; bad lines are reported; a second import stores nothing")
    func importsExactly() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let day2 = #"{"type":"someevent","id":1337,"customstuff":"anything you' like!"}"# + "\n" + #"{"type":"other"}"# + "\n"
        let day1 = #"{"type":"first","n":1}"# + "\n" + #"{"type":"second","n":2}"# + "\n" + #"{"type":"torn","n":"# + "\n" + "\n" + #"{"n":3}"# + "\r\n"
        try day2.write(toFile: dir.appending("events-1984-02-01.log"), atomically: true, encoding: .utf8)
        try day1.write(toFile: dir.appending("events-1984-01-31.log"), atomically: true, encoding: .utf8)
        try "not a log".write(toFile: dir.appending("notes.txt"), atomically: true, encoding: .utf8)
        try "[]".write(toFile: dir.appending("events-1984-13-01.log"), atomically: true, encoding: .utf8)

        let store = InMemoryEventStore()
        let importer = try EventlogImport()
        let summary = try await importer.run(directory: dir.path, into: store)
        #expect(summary.files == 2 && summary.events == 5 && summary.imported == 5)
        #expect(summary.problems.map(\.line) == [3] && summary.problems.first?.file.hasSuffix("events-1984-01-31.log") == true)

        let events = try await store.readStream("eventlog").collect()
        #expect(events.map(\.type) == ["first", "second", "eventlog.event", "someevent", "other"])
        #expect(String(decoding: events[3].data, as: UTF8.self) == #"{"type":"someevent","id":1337,"customstuff":"anything you' like!"}"#)
        #expect(String(decoding: events[2].data, as: UTF8.self) == #"{"n":3}"#, "a CRLF line ends at the CR")
        let positions = ["1984013100000000", "1984013100000001", "1984013100000002", "1984020100000000", "1984020100000001"]
        #expect(events.map(\.id) == positions.map { NameBasedUUID.make(namespace: EventlogImport.namespace, name: $0) })
        #expect(String(decoding: events[4].metadata ?? Data(), as: UTF8.self) == #"{"eventlog":{"pos":"1984020100000001","file":"events-1984-02-01.log","line":2}}"#)

        let again = try await importer.run(directory: dir.path, into: store)
        #expect(again.events == 5 && again.imported == 0)
        #expect(try await store.headPosition() == 5)
    }

    @Test("a file that grew since the last import, or another batch size: only the new events are stored, once")
    func resumesAfterGrowth() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.appending("events-2024-01-01.log")
        try (1...5).map { #"{"type":"t","n":\#($0)}"# }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let store = InMemoryEventStore()
        #expect(try await EventlogImport(options: .init(batchSize: 2)).run(directory: dir.path, into: store).imported == 5)
        try ((1...8).map { #"{"type":"t","n":\#($0)}"# }.joined(separator: "\n")).write(toFile: path, atomically: true, encoding: .utf8)
        let grown = try await EventlogImport(options: .init(batchSize: 3)).run(directory: dir.path, into: store)
        #expect(grown.events == 8 && grown.imported == 3)
        let events = try await store.readStream("eventlog").collect()
        #expect(events.map { String(decoding: $0.data, as: UTF8.self) } == (1...8).map { #"{"type":"t","n":\#($0)}"# })
        #expect(try await EventlogImport(options: .init(batchSize: 1)).run(directory: dir.path, into: store).imported == 0)
    }

    @Test("a pattern without %y, %m and %d once each, or with a folder, is refused")
    func badPatterns() {
        for pattern in ["events.log", "events-%y-%m.log", "x/%y-%m-%d.log", "%y%y-%m-%d"] {
            #expect(throws: StrataError.self) { try EventlogImport(options: EventlogImport.Options(pattern: pattern)) }
        }
    }
}
