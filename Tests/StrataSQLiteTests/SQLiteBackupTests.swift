import Foundation
import Strata
import StrataSQLite
import StrataTestSupport
import Testing

@Suite("SQLite backup and restore")
struct SQLiteBackupTests {
    static func temporary() -> String {
        TemporaryDirectory.freshPath("sqlite-backup")
    }

    static func all(_ store: any EventStore) async throws -> [String] {
        var out: [String] = []
        for try await e in store.readAll() { out.append("\(e.position) \(e.stream) \(e.revision) \(e.id) \(e.recordedAt)") }
        return out
    }

    @Test("an online backup taken while appends run restores a consistent prefix with the same positions, ids and times")
    func liveBackupAndRestore() async throws {
        let directory = Self.temporary()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteEventStore(path: directory + "/events.db")
        for n in 0..<200 { try await store.append(to: "s-\(n % 4)", event: EventData(type: "t", json: #"{"n":\#(n)}"#)) }
        let appending = Task {
            for n in 0..<500 where !Task.isCancelled {
                _ = try await store.append(to: "live", event: EventData(type: "t", json: #"{"n":\#(n)}"#))
            }
        }
        let report = try SQLiteBackup.backup(path: directory + "/events.db", to: directory + "/backup.db")
        appending.cancel()
        _ = try? await appending.value
        #expect(report.headPosition >= 200)
        #expect(!FileManager.default.fileExists(atPath: directory + "/backup.db.tmp"))
        let source = try await Self.all(store)
        try await store.close()

        let restored = try SQLiteBackup.restore(backup: directory + "/backup.db", to: directory + "/restored/events.db")
        #expect(restored.headPosition == report.headPosition)
        let copy = try SQLiteEventStore(path: directory + "/restored/events.db")
        let events = try await Self.all(copy)
        try await copy.close()
        #expect(events.count == Int(report.headPosition) && events == Array(source.prefix(events.count)))
        #expect(throws: StrataError.self) { _ = try SQLiteBackup.restore(backup: directory + "/backup.db", to: directory + "/restored/events.db") }
    }

    @Test("an interrupted backup (only FILE.tmp) and a damaged one are refused with clear errors")
    func refusals() throws {
        let directory = Self.temporary()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("partial".utf8).write(to: URL(fileURLWithPath: directory + "/b.db.tmp"))
        do {
            _ = try SQLiteBackup.verify(backup: directory + "/b.db")
            Issue.record("a missing backup verified")
        } catch StrataError.invalidArgument(let reason) {
            #expect(reason.contains("interrupted"), "\(reason)")
        }
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: directory + "/junk.db"))
        #expect(throws: StrataError.self) { _ = try SQLiteBackup.verify(backup: directory + "/junk.db") }
        #expect(throws: StrataError.self) { _ = try SQLiteBackup.restore(backup: directory + "/junk.db", to: directory + "/out.db") }
        #expect(!FileManager.default.fileExists(atPath: directory + "/out.db"))
    }
}
