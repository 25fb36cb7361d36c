import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataSQLite

/// Scavenging and erasure in SQLite (issue 17; docs/SQLITE.md, "Scavenging and erasure").
@Suite("SQLite scavenging and erasure")
struct SQLiteMaintenanceTests {
    @Test("a scavenge frees the pages of a tombstoned stream's events")
    func scavengeFreesPages() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteEventStore(path: directory.path + "/events.sqlite")
        let payload = EventData(type: "big", json: #"{"pad":"\#(String(repeating: "x", count: 2000))"}"#)
        for _ in 0..<200 { try await store.append(to: "gone", events: [EventData(type: payload.type, data: payload.data)]) }
        try await store.append(to: "keep", events: [EventData(type: "small", json: "{}")])
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        let report = try await store.scavenge()
        #expect(report.eventsRemoved == 200)
        #expect(report.bytesReclaimed > 200 * 2000, "\(report)")
        #expect(try await store.readAll().collect().map(\.stream) == ["keep"])
        try await store.close()
    }

    @Test("an erased stream's data and metadata are in neither the database file nor its WAL")
    func eraseLeavesNoBytes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/events.sqlite"
        let store = try SQLiteEventStore(path: path)
        for n in 1...30 {
            try await store.append(to: "other", events: [EventData(type: "e", json: #"{"n":\#(n)}"#)])
            try await store.append(to: "person-9", events: [EventData(type: "e", json: #"{"secret":"SECRET-DATA-\#(n)-XYZ"}"#)])
        }
        try await store.setStreamMetadata("person-9", StreamMetadata(custom: Data(#"{"email":"SECRET-META-XYZ"}"#.utf8)))
        let report = try await store.erase("person-9", reason: "ticket 9")
        #expect(report.eventsErased == 30)
        #expect(try await store.streamInfo("person-9").isTombstoned)
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path + suffix)), as: UTF8.self)
            #expect(!text.contains("SECRET-DATA"), "erased data found in events.sqlite\(suffix)")
            #expect(!text.contains("SECRET-META"), "erased metadata found in events.sqlite\(suffix)")
        }
        try await store.close()
    }
}
