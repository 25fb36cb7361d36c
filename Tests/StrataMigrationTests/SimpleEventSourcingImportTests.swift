import Foundation
import Strata
import StrataMigration
import StrataTestSupport
import Testing

/// `@mountainpass/simple-event-sourcing`'s chunked JSON Lines files, written by hand from the
/// seed's description (chunked sequential files, JSON Lines, gzip-compressed chunks, events with
/// an index counted across chunks), imported exactly (issue 19).
@Suite("importing simple-event-sourcing chunks")
struct SimpleEventSourcingImportTests {
    /// Writes `text` gzip-compressed (one member) with the system's gzip.
    static func writeGzip(_ text: String, to path: String) throws {
        try text.write(toFile: path + ".src", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -c '\(path).src' > '\(path)' && rm '\(path).src'"]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "gzip failed")
    }

    @Test("chunks are imported in natural order, plain or gzip, with their bytes, types, times and derived ids; bad lines are reported; a second import stores nothing")
    func importsExactly() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let dir = root.appending("bare-minimum")
        try FileManager.default.createDirectory(atPath: dir + "/snapshots.jsonl", withIntermediateDirectories: true)
        try Self.writeGzip(#"{"ts":1700000000123,"name":"event0"}"# + "\n" + #"{"ts":1700000000124,"name":"event1","type":"user:created"}"# + "\n",
                           to: dir + "/chunk-1.jsonl.gz")
        try Self.writeGzip(#"{"ts":1700000000200,"name":"event2"}"# + "\n" + "[1,2]\n", to: dir + "/chunk-2.jsonl.gz")
        // The current chunk, plain; a half-written compression of it beside it is ignored.
        try (#"{"name":"event3"}"# + "\r\n" + "\n" + #"{"ts":"not a number","name":"event4"}"#).write(toFile: dir + "/chunk-10.jsonl", atomically: true, encoding: .utf8)
        try Data([0x1F, 0x8B, 0x08]).write(to: URL(fileURLWithPath: dir + "/chunk-10.jsonl.gz"))
        try "ignored".write(toFile: dir + "/.partial.jsonl", atomically: true, encoding: .utf8)
        try "ignored".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)

        let importer = try SimpleEventSourcingImport()
        #expect(try importer.files(in: dir).map { ($0 as NSString).lastPathComponent } == ["chunk-1.jsonl.gz", "chunk-2.jsonl.gz", "chunk-10.jsonl"])
        let store = InMemoryEventStore()
        let summary = try await importer.run(directory: dir, into: store)
        #expect(summary.files == 3 && summary.events == 5 && summary.imported == 5)
        #expect(summary.problems.map(\.line) == [2] && summary.problems.first?.file.hasSuffix("chunk-2.jsonl.gz") == true)

        let events = try await store.readStream("bare-minimum").collect()
        #expect(events.map(\.type) == ["simple-event-sourcing.event", "user:created", "simple-event-sourcing.event",
                                        "simple-event-sourcing.event", "simple-event-sourcing.event"])
        #expect(events.map { String(decoding: $0.data, as: UTF8.self) } == [
            #"{"ts":1700000000123,"name":"event0"}"#, #"{"ts":1700000000124,"name":"event1","type":"user:created"}"#,
            #"{"ts":1700000000200,"name":"event2"}"#, #"{"name":"event3"}"#, #"{"ts":"not a number","name":"event4"}"#,
        ])
        #expect(events.map(\.id) == (0..<5).map { NameBasedUUID.make(namespace: SimpleEventSourcingImport.namespace, name: "bare-minimum:\($0)") })
        #expect(String(decoding: events[0].metadata ?? Data(), as: UTF8.self)
                == #"{"simpleEventSourcing":{"source":"bare-minimum","index":0,"file":"chunk-1.jsonl.gz","line":1},"ts":"2023-11-14T22:13:20.123Z"}"#)
        #expect(String(decoding: events[4].metadata ?? Data(), as: UTF8.self)
                == #"{"simpleEventSourcing":{"source":"bare-minimum","index":4,"file":"chunk-10.jsonl","line":3}}"#)

        let again = try await importer.run(directory: dir, into: store)
        #expect(again.events == 5 && again.imported == 0)
        #expect(try await store.headPosition() == 5)

        // Another source name derives other ids: both sources fit in one store.
        let other = try SimpleEventSourcingImport(options: .init(source: "orders", stream: "orders-events"))
        #expect(try await other.run(directory: dir, into: store).imported == 5)
        #expect(try await store.readStream("orders-events").collect().count == 5)
    }

    @Test("a truncated gzip chunk is an error naming the file; bad options are refused")
    func errors() async throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        try Data([0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3]).write(to: URL(fileURLWithPath: root.appending("chunk-1.jsonl.gz")))
        await #expect(throws: StrataError.self) { try await SimpleEventSourcingImport().run(directory: root.path, into: InMemoryEventStore()) }
        #expect(throws: StrataError.self) { try SimpleEventSourcingImport(options: .init(batchSize: 0)) }
        #expect(throws: StrataError.self) { try SimpleEventSourcingImport(options: .init(stream: "$bad")) }
        #expect(throws: StrataError.self) { try SimpleEventSourcingImport(options: .init(source: "")) }
    }
}
