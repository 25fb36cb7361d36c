import Foundation
import Strata
import StrataJSON
import StrataLakehouse
import StrataTestSupport
import Testing

/// A store whose `$all` reads say event `p` was recorded on day `p / 3` after 2026-12-06 (UTC),
/// so that a mirror run crosses day boundaries.
private final class DaysApartStore: ForwardingEventStore {
    let forwardee: any EventStore
    static let firstDay = UTCTime.microseconds(year: 2026, month: 12, day: 6, hour: 12, minute: 0, second: 0, microsecond: 0)
    init(_ inner: any EventStore) { self.forwardee = inner }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        let page = try await forwardee.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
        let events = page.events.map { e in
            RecordedEvent(id: e.id, stream: e.stream, revision: e.revision, position: e.position,
                          recordedAtMicroseconds: Self.firstDay + Int64(e.position / 3) * 86_400_000_000 + Int64(e.position),
                          type: e.type, contentType: e.contentType, data: e.data, metadata: e.metadata)
        }
        return AllPage(events: events, next: page.next, scannedThrough: page.scannedThrough)
    }
}

/// The daily mirror (issue 19, eventlog): one JSON Lines file per UTC day, exactly once across crashes.
@Suite("daily JSON Lines mirror")
struct DailyMirrorTests {
    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func positions(_ path: String) throws -> [UInt64] {
        try lines(path).map { line in UInt64(try JSONValue(parsing: Data(line.utf8))["position"]?.integerValue ?? -1) }
    }

    @Test("events go to the file of their UTC day in order; a second run appends only new events; a crash's extra lines and newer files are cut")
    func mirrors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = DaysApartStore(InMemoryEventStore())
        for n in 1...7 { try await store.append(to: "order-\(n % 2)", events: [EventData(type: "placed", json: #"{"n":\#(n)}"#)]) }
        let mirror = try DailyMirror(store: store, configuration: DailyMirror.Configuration(directory: dir.path, batchSize: 2))
        let first = try await mirror.mirrorAvailable()
        #expect(first.events == 7 && first.position == 7 && first.file == "events-2026-12-08.jsonl")
        #expect(try Self.positions(dir.appending("events-2026-12-06.jsonl")) == [1, 2])
        #expect(try Self.positions(dir.appending("events-2026-12-07.jsonl")) == [3, 4, 5])
        #expect(try Self.positions(dir.appending("events-2026-12-08.jsonl")) == [6, 7])
        #expect(try Self.lines(dir.appending("events-2026-12-06.jsonl"))[0].contains(#""stream":"order-1""#))

        for n in 8...9 { try await store.append(to: "order-0", events: [EventData(type: "paid", json: #"{"n":\#(n)}"#)]) }
        #expect(try await mirror.mirrorAvailable().events == 2)
        #expect(try Self.positions(dir.appending("events-2026-12-08.jsonl")) == [6, 7, 8])
        #expect(try Self.positions(dir.appending("events-2026-12-09.jsonl")) == [9])

        // A crash after writing lines but before saving the state: a half line in the current
        // file and a newer day file. The next run cuts both and writes each event once.
        let handle = try #require(FileHandle(forWritingAtPath: dir.appending("events-2026-12-09.jsonl")))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"position":10,"str"#.utf8))
        handle.closeFile()
        try #"{"position":99}"#.write(toFile: dir.appending("events-2026-12-10.jsonl"), atomically: true, encoding: .utf8)
        try await store.append(to: "order-1", events: [EventData(type: "shipped", json: "{}")])
        #expect(try await mirror.mirrorAvailable().events == 1)
        #expect(try Self.positions(dir.appending("events-2026-12-09.jsonl")) == [9, 10])
        #expect(!FileManager.default.fileExists(atPath: dir.appending("events-2026-12-10.jsonl")))
    }

    @Test("a folder with day files but no mirror state is refused; a bad pattern is refused")
    func refusals() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "x\n".write(toFile: dir.appending("events-2020-01-01.jsonl"), atomically: true, encoding: .utf8)
        let mirror = try DailyMirror(store: InMemoryEventStore(), configuration: DailyMirror.Configuration(directory: dir.path))
        await #expect(throws: StrataError.self) { try await mirror.mirrorAvailable() }
        #expect(try String(contentsOfFile: dir.appending("events-2020-01-01.jsonl"), encoding: .utf8) == "x\n", "nothing of it was touched")
        #expect(throws: StrataError.self) {
            try DailyMirror(store: InMemoryEventStore(), configuration: DailyMirror.Configuration(directory: dir.path, pattern: "events.jsonl"))
        }
    }

    @Test("run() follows new events until cancelled, then returns what it wrote")
    func follows() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = InMemoryEventStore()
        let mirror = try DailyMirror(store: store, configuration: DailyMirror.Configuration(directory: dir.path))
        let task = Task { try await mirror.run() }
        try await store.append(to: "s", events: [EventData(type: "t", json: "{}"), EventData(type: "t", json: "{}")])
        try await Wait.until("the mirror to write both events", timeout: .seconds(20), interval: .milliseconds(20)) {
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }
            return try files.reduce(0) { $0 + (try Self.lines(dir.appending($1)).count) } == 2
        }
        task.cancel()
        let summary = try await task.value
        #expect(summary.events == 2 && summary.position == 2)
    }
}
