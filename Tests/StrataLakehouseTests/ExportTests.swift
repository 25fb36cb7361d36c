import Foundation
import MetricsTestKit
import Strata
import StrataConsumers
@testable import StrataLakehouse
import StrataTestSupport
import Testing
import StrataJSON

@Suite("Lakehouse export")
struct ExportTests {
    private func exporter(_ store: any EventStore, root: String, _ configuration: ExportConfiguration,
                          target: (any ExportTarget)? = nil) throws -> LakehouseExporter {
        try LakehouseExporter(store: store, target: target ?? DirectoryTarget(root: root),
                              checkpoints: FileCheckpointStore(directory: root + "/_checkpoints"), configuration: configuration)
    }

    @Test("events land in hour partitions named {source}_{firstPosition}.jsonl, each once, in order")
    func partitions() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        _ = try await store.append(to: "a", events: [
            EventData(type: "t", json: #"{"k":1}"#, metadata: Sample.metadata(ts: "2026-01-15T14:59:59.999Z")),
            EventData(type: "t", json: #"{"k":2}"#, metadata: Sample.metadata(ts: "2026-01-15T15:00:00Z")),
            EventData(type: "t", json: #"{"k":3}"#, metadata: Sample.metadata(ts: "2026-01-15T17:30:00+02:00")),
            EventData(type: "t", json: #"{"k":4}"#, metadata: #"{"ts":"not a time"}"#),
        ])
        let summary = try await exporter(store, root: folder.path, ExportConfiguration(source: "node 1")).exportAvailable()
        #expect(summary.events == 4)
        #expect(summary.checkpoint == 4)
        let files = try Lake.files(folder.path).map { String($0.dropFirst(folder.path.count + 1)) }
        let now = UTCTime.civil(try await store.readAllPage(from: .at(4), direction: .forward, filter: EventFilter(), maxCount: 1)
            .events[0].recordedAtMicroseconds)
        let nowPartition = "events/\(ExportFileName.pad(now.year, 4))/\(ExportFileName.pad(now.month, 2))/\(ExportFileName.pad(now.day, 2))/\(ExportFileName.pad(now.hour, 2))"
        #expect(files.sorted() == [
            "events/2026/01/15/14/node%201_1.jsonl",
            "events/2026/01/15/15/node%201_2.jsonl",
            nowPartition + "/node%201_4.jsonl",
        ].sorted())
        let lines = try Lake.lines(folder.path)
        #expect(lines.map { ($0["position"] as! NSNumber).intValue }.sorted() == [1, 2, 3, 4])
        let third = lines.first { ($0["position"] as! NSNumber).intValue == 3 }!
        #expect(third["ts"] as? String == "2026-01-15T15:30:00.000000Z")
        #expect((third["source"] as? [String: Any])?["class"] as? String == "ChatRoom")
        #expect(third["stream"] as? String == "a")
        #expect((third["data"] as? [String: Any])?["k"] as? Int == 3)
        #expect(third["v"] as? Int == 1)
        // No staged file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/_staging").isEmpty)
    }

    @Test("a line keeps payload bytes: newlines in JSON become spaces, non-JSON data is base64 with its content type")
    func lineShapes() throws {
        var encoder = EventLineEncoder()
        let json = RecordedEvent(id: UUID(uuidString: "0B5C8C5E-1111-4C4C-8C8C-000000000001")!, stream: "s\"q", revision: 2, position: 7,
                                 recordedAtMicroseconds: 1_700_000_000_123_456, type: "t\n", data: Data("{\n\"a\": [1,\r\n2]}".utf8),
                                 metadata: Data(#"{"tags":["x"]}"#.utf8))
        var out: [UInt8] = []
        encoder.append(json, to: &out)
        #expect(out.last == 0x0A)
        #expect(out.dropLast().contains(0x0A) == false)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text == #"{"v":1,"id":"0b5c8c5e-1111-4c4c-8c8c-000000000001","type":"t\n","ts":"2023-11-14T22:13:20.123456Z","stream":"s\"q","position":7,"revision":2,"data":{ "a": [1,  2]},"metadata":{"tags":["x"]},"recordedAt":"2023-11-14T22:13:20.123456Z"}"# + "\n")

        let binary = RecordedEvent(id: UUID(), stream: "s", revision: 1, position: 1, recordedAtMicroseconds: 0, type: "blob",
                                   contentType: .binary, data: Data([0, 1, 2, 255]), metadata: nil)
        out = []
        encoder.append(binary, to: &out)
        let object = try JSONSerialization.jsonObject(with: Data(out)) as! [String: Any]
        #expect(object["data"] as? String == Data([0, 1, 2, 255]).base64EncodedString())
        #expect(object["dataEncoding"] as? String == "base64")
        #expect(object["contentType"] as? String == "application/octet-stream")
        #expect(object["metadata"] is NSNull)

        let broken = RecordedEvent(id: UUID(), stream: "s", revision: 1, position: 1, recordedAtMicroseconds: 0, type: "t",
                                   data: Data("{not json".utf8), metadata: nil)
        out = []
        encoder.append(broken, to: &out)
        let parsed = try JSONSerialization.jsonObject(with: Data(out)) as! [String: Any]
        #expect(parsed["dataEncoding"] as? String == "base64")
        #expect(parsed["contentType"] == nil)
    }

    @Test("ISO 8601 times parse with Z, offsets and any fraction, and format back in UTC")
    func times() {
        func parse(_ text: String) -> Int64? { Array(text.utf8).withUnsafeBytes { UTCTime.parseISO8601($0) } }
        #expect(parse("1970-01-01T00:00:00Z") == 0)
        #expect(parse("2024-01-15T14:00:01.123Z") == 1_705_327_201_123_000)
        #expect(parse("2024-01-15T16:00:01.123456789+02:00") == 1_705_327_201_123_456)
        #expect(parse("2024-01-15T13:30:01.123456-0030") == 1_705_327_201_123_456)
        #expect(parse("1969-12-31T23:59:59.5Z") == -500_000)
        #expect(parse("2024-13-15T14:00:01Z") == nil)
        #expect(parse("2024-01-15T14:00:01") == nil)
        #expect(parse("2024-01-15T14:00:01Zjunk") == nil)
        #expect(UTCTime.iso8601(1_705_327_201_123_456) == "2024-01-15T14:00:01.123456Z")
        #expect(UTCTime.iso8601(-500_000) == "1969-12-31T23:59:59.500000Z")
        for micros: Int64 in [0, 951_782_400_000_000, 4_102_444_799_999_999, 1_709_164_800_000_001] {
            #expect(parse(UTCTime.iso8601(micros)) == micros)
        }
    }

    @Test("files roll by event count and by size; every event is in exactly one file; the metrics count them")
    func rolling() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 1000)
        let byCount = folder.path + "/count"
        let metrics = TestMetrics()
        var counted = ExportConfiguration(source: "n", maxFileEvents: 300, batchSize: 64)
        counted.metrics = metrics
        let summary = try await exporter(store, root: byCount, counted).exportAvailable()
        #expect(summary.files == 4)
        let named = [("exporter", "n")]
        #expect(try metrics.expectCounter("strata_exporter_files_total", named).totalValue == 4)
        #expect(try metrics.expectCounter("strata_exporter_events_total", named).totalValue == 1000)
        #expect(try metrics.expectGauge("strata_exporter_position", named).lastValue == 1000)
        #expect(try Lake.files(byCount).map { ($0 as NSString).lastPathComponent }.sorted() == ["n_1.jsonl", "n_301.jsonl", "n_601.jsonl", "n_901.jsonl"])
        #expect(try Lake.positions(byCount) == Array(1...1000))

        let bySize = folder.path + "/size"
        let sized = try await exporter(store, root: bySize, ExportConfiguration(source: "n", maxFileBytes: 20_000)).exportAvailable()
        #expect(sized.files > 5)
        for file in try Lake.files(bySize).dropLast() {
            let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
            #expect(size >= 20_000 && size < 20_000 + 1000)
        }
        #expect(try Lake.positions(bySize) == Array(1...1000))
    }

    @Test("gzip files read back line for line, and gzip -t accepts them")
    func gzipRoundTrip() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 5000)
        let summary = try await exporter(store, root: folder.path,
                                         ExportConfiguration(source: "z", compression: .gzip(level: 6), maxFileEvents: 2000)).exportAvailable()
        #expect(summary.files == 3)
        let files = try Lake.files(folder.path)
        #expect(files.allSatisfy { $0.hasSuffix(".jsonl.gz") })
        #expect(try Lake.positions(folder.path) == Array(1...5000))
        if let gzip = Executable.onPath("gzip") {
            for file in files { #expect(try await ChildProcess.run(gzip, ["-t", file]).status == 0) }
        }
        let copy = InMemoryEventStore()
        let imported = try await LakehouseImporter(store: copy).importFiles(try LakehouseImporter.files(in: [folder.path]))
        #expect(imported.imported == 5000)
        let original = try await store.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 10_000).events
        let restored = try await copy.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 10_000).events
        // Each stream keeps its order (the import groups a batch by stream, so `$all` order may differ).
        for stream in ["order-0", "order-1", "order-2"] {
            let a = restored.filter { $0.stream == stream }
            let b = original.filter { $0.stream == stream }
            #expect(a.map(\.id) == b.map(\.id), "stream \(stream)")
            #expect(a.map(\.metadata) == b.map(\.metadata), "stream \(stream)")
        }
        let byID = Dictionary(uniqueKeysWithValues: original.map { ($0.id, $0) })
        // JSON data comes back as equal JSON (its line break, whitespace between tokens, is a space).
        let sameJSON = try restored.allSatisfy { event in
            try JSONSerialization.jsonObject(with: event.data) as! NSDictionary
                == JSONSerialization.jsonObject(with: byID[event.id]!.data) as! NSDictionary
        }
        #expect(sameJSON)
    }

    @Test("a crash at any publish, before or after the rename, then a restart: every event exactly once, no staged file left")
    func crashAndRestart() async throws {
        for (failAfter, afterRename) in [(0, false), (2, false), (2, true), (5, true)] {
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            let store = InMemoryEventStore()
            try await Sample.fill(store, count: 1000)
            var configuration = ExportConfiguration(source: "c", maxFileEvents: 150, batchSize: 100)
            configuration.retry = .none
            let flaky = try FlakyTarget(root: folder.path, failAfter: failAfter, failAfterRename: afterRename)
            await #expect(throws: StrataError.self) {
                try await exporter(store, root: folder.path, configuration, target: flaky).exportAvailable()
            }
            // A partial staged file, as a kill mid-write leaves it.
            _ = FileManager.default.createFile(atPath: folder.path + "/_staging/c_901.jsonl.partial", contents: Data("{\"v\":1,".utf8))
            // The restart rolls differently (a changed setting): names still make it idempotent.
            configuration.maxFileEvents = 220
            try await Sample.fill(store, count: 200)
            let summary = try await exporter(store, root: folder.path, configuration).exportAvailable()
            #expect(summary.checkpoint == 1200)
            #expect(try Lake.positions(folder.path).sorted() == Array(1...1200), "failAfter \(failAfter) afterRename \(afterRename)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/_staging").isEmpty)
        }
    }

    @Test("a restart with nothing new exports nothing; a changed compression replaces the twin file")
    func idempotentRestart() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 100)
        let configuration = ExportConfiguration(source: "r")
        try await exporter(store, root: folder.path, configuration).exportAvailable()
        let again = try await exporter(store, root: folder.path, configuration).exportAvailable()
        #expect(again.events == 0 && again.files == 0)
        // Forget the checkpoint and export again gzip-compressed: same name, other extension.
        try await FileCheckpointStore(directory: folder.path + "/_checkpoints").resetCheckpoint(for: configuration.consumerName, to: nil)
        var gzip = configuration
        gzip.compression = .gzip()
        try await exporter(store, root: folder.path, gzip).exportAvailable()
        #expect(try Lake.files(folder.path).map { ($0 as NSString).lastPathComponent } == ["r_1.jsonl.gz"])
        #expect(try Lake.positions(folder.path) == Array(1...100))
    }

    @Test("following: a file open longer than maxFileAge is published without new events; cancelling stops cleanly")
    func timeRoll() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 10)
        let export = try exporter(store, root: folder.path, ExportConfiguration(source: "f", maxFileAge: .milliseconds(200)))
        let running = Task { try await export.run() }
        try await Wait.until("the first file, published by age", timeout: .seconds(60)) { try !Lake.files(folder.path).isEmpty }
        #expect(try Lake.positions(folder.path) == Array(1...10))
        try await Sample.fill(store, count: 5)
        try await Wait.until("the second file, published by age", timeout: .seconds(60)) { try Lake.positions(folder.path).count >= 15 }
        running.cancel()
        let summary = try await running.value
        #expect(summary.checkpoint == 15)
        #expect(try Lake.positions(folder.path).sorted() == Array(1...15))
    }

    @Test("an exporter whose checkpoint is beyond the store's head fails with checkpointAheadOfStore and writes nothing")
    func checkpointAheadOfStore() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 10)
        let configuration = ExportConfiguration(source: "ahead")
        try await FileCheckpointStore(directory: folder.path + "/_checkpoints").resetCheckpoint(for: configuration.consumerName, to: 25)
        let expected = StrataError.checkpointAheadOfStore(consumer: configuration.consumerName, checkpoint: 25, head: 10)
        await #expect(throws: expected) { try await exporter(store, root: folder.path, configuration).exportAvailable() }
        await #expect(throws: expected) { try await exporter(store, root: folder.path, configuration).run() }
        #expect(try Lake.files(folder.path).isEmpty)
        #expect(try FileCheckpointStore(directory: folder.path + "/_checkpoints").loadCheckpoint(configuration.consumerName) == 25)
    }

    @Test("a filter exports only matching events and the checkpoint passes the others")
    func filtered() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 30)
        _ = try await store.append(to: "cdc-users", events: [Sample.change("collection.insert", collection: "users", docId: "u1",
                                                                          doc: #"{"n":1}"#, prev: nil, ts: "2026-01-15T14:00:00Z")])
        try await Sample.fill(store, count: 30)
        let configuration = ExportConfiguration(source: "cdc", filter: EventFilter(streamPrefixes: ["cdc-"]))
        let summary = try await exporter(store, root: folder.path, configuration).exportAvailable()
        #expect(summary.events == 1)
        #expect(summary.checkpoint == 61)
        #expect(try Lake.positions(folder.path) == [31])
    }

    @Test("bad settings are typed errors")
    func badSettings() throws {
        let store = InMemoryEventStore()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        #expect(throws: StrataError.invalidArgument("maxFileBytes must be at least 1, got 0")) {
            try exporter(store, root: folder.path, ExportConfiguration(source: "x", maxFileBytes: 0))
        }
        #expect(throws: StrataError.invalidArgument("the gzip level must be 1…9, got 12")) {
            try exporter(store, root: folder.path, ExportConfiguration(source: "x", compression: .gzip(level: 12)))
        }
        #expect(throws: StrataError.invalidArgument("the export source name must be 1–200 bytes, got 0")) {
            try exporter(store, root: folder.path, ExportConfiguration(source: ""))
        }
    }
}
