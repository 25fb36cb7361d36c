import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// PostgreSQL's client programs, from the PATH or the server's installation.
enum PostgresTools {
    static let dumpAndRestore: (dump: String, restore: String)? = {
        let directories = ["/usr/bin", "/usr/local/bin"] + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted().reversed().map { "/usr/lib/postgresql/\($0)/bin" }
        for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/pg_dump")
            && FileManager.default.isExecutableFile(atPath: directory + "/pg_restore") {
            return (directory + "/pg_dump", directory + "/pg_restore")
        }
        return nil
    }()
}

/// The PostgreSQL backup procedure of docs/OPERATIONS.md, run for real: `pg_dump --schema`, the
/// schema dropped, `pg_restore`, and the store reopened on the restored schema.
@Suite("PostgreSQL dump and restore",
       .enabled(if: PostgresTest.isEnabled && PostgresTools.dumpAndRestore != nil, "needs scripts/postgres.sh and pg_dump/pg_restore"))
struct DumpRestoreTests {

    static func fingerprint(_ store: PostgresEventStore, streams: [String]) async throws -> [String] {
        var out: [String] = []
        for try await e in store.readAll() {
            out.append("\(e.position) \(e.stream) \(e.revision) \(e.id) \(e.type) \(e.recordedAt) \(String(decoding: e.data, as: UTF8.self)) \(e.metadata.map { String(decoding: $0, as: UTF8.self) } ?? "-")")
        }
        for stream in streams {
            let info = try await store.streamInfo(stream)
            out.append("\(stream) \(info.lastRevision) \(info.eventCount) \(info.isDeleted) \(info.isTombstoned) \(info.metadata)")
            if info.exists {
                for try await e in store.readStream(stream) { out.append("\(stream)@\(e.revision)=\(e.position)") }
            }
        }
        return out
    }

    @Test("a pg_dump of the store's schema, restored after the schema was dropped, reads the same and appends after the same head")
    func dumpAndRestore() async throws {
        let (dump, restore) = try #require(PostgresTools.dumpAndRestore)
        let url = try #require(PostgresTest.url)
        let schema = PostgresTest.newSchema("dump")
        defer { Task { await PostgresTest.dropSchemas([schema]) } }
        let streams = (0..<5).map { "order-\($0)" }
        var store = try await PostgresTest.openStore(schema: schema)
        for n in 0..<60 { _ = try await store.append(to: streams[n % 5], events: PostgresTest.events(1, from: n)) }
        try await store.setStreamMetadata("order-1", StreamMetadata(maxCount: 4, custom: Data(#"{"owner":"ops"}"#.utf8)))
        try await store.deleteStream("order-2", expectedRevision: .any, mode: .soft)
        try await store.deleteStream("order-3", expectedRevision: .any, mode: .tombstone)
        let before = try await Self.fingerprint(store, streams: streams)
        let head = try await store.headPosition()
        try await store.close()

        let file = TemporaryDirectory.freshPath("\(schema).dump")
        defer { TemporaryDirectory.remove(file) }
        let dumped = try await ChildProcess.run(dump, ["--schema=\(schema)", "--format=custom", "--file=\(file)", "--dbname=\(url)"])
        try #require(dumped.status == 0, "pg_dump: \(dumped.stderr)")
        try await PostgresTest.execute("DROP SCHEMA \(schema) CASCADE")
        let restored = try await ChildProcess.run(restore, ["--dbname=\(url)", file])
        try #require(restored.status == 0, "pg_restore: \(restored.stderr)")

        store = try await PostgresTest.openStore(schema: schema)
        #expect(try await Self.fingerprint(store, streams: streams) == before)
        let next = try await store.append(to: "after-restore", events: PostgresTest.events(1, from: 1000))
        #expect(next.firstPosition == head + 1, "the restored counter continues the positions")
        await #expect(throws: StrataError.self) { _ = try await store.append(to: "order-3", events: PostgresTest.events(1, from: 2000)) }
        try await store.close()
    }
}
