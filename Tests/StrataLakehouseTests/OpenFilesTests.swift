import Foundation
import MetricsTestKit
import Strata
import StrataConsumers
import StrataJSON
@testable import StrataLakehouse
import StrataStorage
import StrataTestSupport
import Testing

/// Several open files, one per hour, the export journal, and crashes with several files open
/// (docs/LAKEHOUSE.md, "Open files" and "Crash safety").
@Suite("Lakehouse export open files")
struct OpenFilesTests {
    private func exporter(_ store: any EventStore, root: String, _ configuration: ExportConfiguration,
                          target: (any ExportTarget)? = nil) throws -> LakehouseExporter {
        try LakehouseExporter(store: store, target: target ?? DirectoryTarget(root: root),
                              checkpoints: FileCheckpointStore(directory: root + "/_checkpoints"), configuration: configuration)
    }

    private func names(_ root: String) throws -> [String] {
        try Lake.files(root).map { String($0.dropFirst(root.count + 1)) }.sorted()
    }

    @Test("10,000 events of 4 interleaved hours fill one file per hour with the defaults; maxOpenFiles 1 writes a file per event")
    func interleavedHours() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.timed(store, hours: (0..<10_000).map { $0 % 4 })
        let metrics = TestMetrics()
        var configuration = ExportConfiguration(source: "m")
        configuration.metrics = metrics
        let summary = try await exporter(store, root: folder.path + "/eight", configuration).exportAvailable()
        #expect(summary.events == 10_000)
        #expect(summary.files == 4)
        #expect(summary.checkpoint == 10_000)
        #expect(try names(folder.path + "/eight") == [
            "events/2026/01/15/10/m_1.jsonl", "events/2026/01/15/11/m_2.jsonl",
            "events/2026/01/15/12/m_3.jsonl", "events/2026/01/15/13/m_4.jsonl",
        ])
        #expect(try Lake.positions(folder.path + "/eight").sorted() == Array(1...10_000))
        #expect(try Lake.misplaced(folder.path + "/eight").isEmpty)
        let named = [("exporter", "m")]
        #expect(try metrics.expectGauge("strata_exporter_open_files", named).values.max() == 4)
        #expect(try metrics.expectGauge("strata_exporter_open_files", named).lastValue == 0)
        #expect(try metrics.expectGauge("strata_exporter_position", named).lastValue == 10_000)

        // The exporter of before: one open file, finished by every change of hour.
        let small = InMemoryEventStore()
        try await Sample.timed(small, hours: (0..<200).map { $0 % 4 })
        var one = ExportConfiguration(source: "m")
        one.maxOpenFiles = 1
        let single = try await exporter(small, root: folder.path + "/one", one).exportAvailable()
        #expect(single.files == 200)
        #expect(try Lake.positions(folder.path + "/one").sorted() == Array(1...200))
        #expect(try Lake.misplaced(folder.path + "/one").isEmpty)
        // No file was ever beyond the checkpoint with another open: no journal was needed.
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/one/_state/m.json"))
    }

    @Test("with maxOpenFiles open, an event of another hour finishes the least recently written file")
    func leastRecentlyWritten() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        // Hours of positions 1…7: 0, 1, 0, 2 (finishes hour 1, written at 2), 1 (finishes hour 0,
        // written at 3), 2, 1.
        try await Sample.timed(store, hours: [0, 1, 0, 2, 1, 2, 1])
        var configuration = ExportConfiguration(source: "l", maxOpenFiles: 2)
        configuration.batchSize = 3
        let summary = try await exporter(store, root: folder.path, configuration).exportAvailable()
        #expect(summary.keys == ["events/2026/01/15/11/l_2.jsonl", "events/2026/01/15/10/l_1.jsonl",
                                 "events/2026/01/15/12/l_4.jsonl", "events/2026/01/15/11/l_5.jsonl"])
        #expect(try Lake.lines(folder.path).map { ($0["position"] as! NSNumber).intValue }.sorted() == Array(1...7))
        #expect(try Lake.misplaced(folder.path).isEmpty)
    }

    @Test("files finish by size, count and age while others stay open; the journal lists files beyond the checkpoint, then empties")
    func journalWhileOpen() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        // Hour 0 gets one event, then hour 1 fills files of 10 while hour 0 stays open.
        try await Sample.timed(store, hours: [0] + Array(repeating: 1, count: 25))
        let target = try FlakyTarget(root: folder.path)
        let summary = try await exporter(store, root: folder.path, ExportConfiguration(source: "j", maxFileEvents: 10),
                                         target: target).exportAvailable()
        #expect(summary.keys == ["events/2026/01/15/11/j_2.jsonl", "events/2026/01/15/11/j_12.jsonl",
                                 "events/2026/01/15/10/j_1.jsonl", "events/2026/01/15/11/j_22.jsonl"])
        // Journal writes: after j_2 and after j_12 (hour 0 is open from position 1, so the
        // checkpoint stays 0); publishing j_1 lets the checkpoint pass 21, and j_22 is the last
        // file: neither needs an entry.
        let journals = try target.journals.map { try StrataJSONDecoder().decode(ExportJournal.self, from: $0) }
        #expect(journals.map { $0.files.map(\.first) } == [[2], [2, 12]])
        #expect(journals.map { $0.files.map(\.last) } == [[11], [11, 21]])
        #expect(journals.map(\.checkpoint) == [0, 0])
        #expect(summary.checkpoint == 26)
        #expect(try Lake.positions(folder.path).sorted() == Array(1...26))
        // Its entries are at or before the checkpoint now: a restart relies on none of them.
        #expect(try await ExportJournal.load(from: target, source: "j", checkpoint: 26).isEmpty)
        let again = try await exporter(store, root: folder.path, ExportConfiguration(source: "j"), target: target).exportAvailable()
        #expect(again.events == 0 && again.files == 0)
    }

    @Test("when the journal reaches its limit, every open file is finished and the journal empties")
    func journalLimit() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let store = InMemoryEventStore()
        // Hour 0 is written every other event, so it stays open (holding the checkpoint at 0)
        // while the hours between take turns in the second file and are published beyond it.
        try await Sample.timed(store, hours: [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6])
        var configuration = ExportConfiguration(source: "q", maxOpenFiles: 2)
        configuration.journalLimit = 4
        let target = try FlakyTarget(root: folder.path)
        let summary = try await exporter(store, root: folder.path, configuration, target: target).exportAvailable()
        // The 4th entry (q_8) finishes q_1 and q_10 at once, not at the end of the run; no later
        // file lies beyond the checkpoint, so no entry is needed.
        #expect(summary.keys.map { ($0 as NSString).lastPathComponent } == ["q_2.jsonl", "q_4.jsonl", "q_6.jsonl", "q_8.jsonl",
                                                                             "q_1.jsonl", "q_10.jsonl", "q_11.jsonl", "q_12.jsonl"])
        let journals = try target.journals.map { try StrataJSONDecoder().decode(ExportJournal.self, from: $0) }
        #expect(journals.map { $0.files.map(\.first) } == [[2], [2, 4], [2, 4, 6], [2, 4, 6, 8]])
        #expect(try Lake.misplaced(folder.path).isEmpty)
        #expect(try Lake.positions(folder.path).sorted() == Array(1...12))
    }

    @Test("a journal of another version or source is refused; one written against a higher checkpoint is discarded")
    func journalChecks() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let target = try DirectoryTarget(root: folder.path)
        let key = ExportJournal.key(source: "a b")
        #expect(key == "_state/a%20b.json")
        #expect(try await ExportJournal.load(from: target, source: "a b", checkpoint: 0).isEmpty)
        let entries = [ExportJournal.Entry(hour: 5, first: 3, last: 9, key: "k1"), ExportJournal.Entry(hour: 6, first: 4, last: 20, key: "k2")]
        try await target.writeState(try ExportJournal(source: "a b", checkpoint: 2, files: entries).encoded(), key: key)
        #expect(try await ExportJournal.load(from: target, source: "a b", checkpoint: 2) == entries)
        #expect(try await ExportJournal.load(from: target, source: "a b", checkpoint: 10) == [entries[1]])
        #expect(try await ExportJournal.load(from: target, source: "a b", checkpoint: 1).isEmpty)
        let text = String(decoding: try #require(try await target.readState(key: key)), as: UTF8.self)
        #expect(text.hasPrefix(#"{"version":1,"source":"a b","checkpoint":2,"files":[{"hour":5,"first":3,"last":9,"key":"k1"}"#))

        try await target.writeState(Array(#"{"version":2,"source":"a b","checkpoint":2,"files":[],"more":{}}"#.utf8), key: key)
        await #expect(throws: StrataError.unsupportedFormat(path: folder.path + "/" + key, found: "version 2", supported: "version 1")) {
            try await ExportJournal.load(from: target, source: "a b", checkpoint: 2)
        }
        try await target.writeState(Array(#"{"version":1,"source":"other","checkpoint":2,"files":[]}"#.utf8), key: key)
        await #expect(throws: StrataError.self) { try await ExportJournal.load(from: target, source: "a b", checkpoint: 2) }
        try await target.writeState(Array("{not json".utf8), key: key)
        await #expect(throws: StrataError.self) { try await ExportJournal.load(from: target, source: "a b", checkpoint: 2) }
    }

    /// Counts the publish and journal steps of a clean export of `store` with `configuration`.
    private func steps(_ store: any EventStore, _ configuration: ExportConfiguration) async throws -> Int {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let target = try FlakyTarget(root: folder.path)
        try await exporter(store, root: folder.path, configuration, target: target).exportAvailable()
        return target.publishes + target.journals.count
    }

    @Test("a kill at every publish and journal step, before and after it, with several files open; the restart with other settings: every position exactly once")
    func killAtEveryStep() async throws {
        var random = SplitMix64(seed: 19)
        // 300 events over 4 hours, each run of hours 1…6 long, so files fill, get evicted and
        // are published while others stay open.
        var hours: [Int] = []
        while hours.count < 300 {
            let hour = Int(random.next() % 4)
            hours += Array(repeating: hour, count: Int(random.next() % 6) + 1)
        }
        hours = Array(hours.prefix(300))
        let store = InMemoryEventStore()
        try await Sample.timed(store, hours: hours)
        var configuration = ExportConfiguration(source: "k", maxFileEvents: 30, maxOpenFiles: 3, batchSize: 50)
        configuration.retry = .none
        let total = try await steps(store, configuration)
        #expect(total > 20)
        for failAfter in 0..<total {
            for after in [false, true] {
                let folder = try TemporaryDirectory()
                defer { folder.remove() }
                let flaky = try FlakyTarget(root: folder.path, failAfter: failAfter, failAfterRename: after, counting: [.publish, .journal])
                await #expect(throws: StrataError.self) {
                    try await exporter(store, root: folder.path, configuration, target: flaky).exportAvailable()
                }
                // The restart keeps other files open, rolls elsewhere, and sometimes compresses.
                var restart = configuration
                restart.maxOpenFiles = [1, 2, 5][failAfter % 3]
                restart.maxFileEvents = 45
                if failAfter % 4 == 3 { restart.compression = .gzip() }
                let summary = try await exporter(store, root: folder.path, restart).exportAvailable()
                let context = "failAfter \(failAfter) after \(after)"
                #expect(summary.checkpoint == 300, "\(context)")
                #expect(try Lake.positions(folder.path).sorted() == Array(1...300), "\(context)")
                #expect(try Lake.misplaced(folder.path).isEmpty, "\(context)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/_staging").isEmpty, "\(context)")
            }
        }
    }

    @Test("randomized: several killed runs in a row with random settings, then a clean one: every position exactly once")
    func randomizedKills() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["STRATA_SEED"] ?? "") ?? UInt64.random(in: 0 ... .max)
        var random = SplitMix64(seed: seed)
        for round in 0..<6 {
            let folder = try TemporaryDirectory()
            defer { folder.remove() }
            let store = InMemoryEventStore()
            var appended = 0
            for run in 0..<4 {
                // New events, late ones among them, before each run.
                let count = Int(random.next() % 150) + 50
                try await Sample.timed(store, hours: (0..<count).map { _ in Int(random.next() % 100) < 70 ? 5 : Int(random.next() % 6) })
                appended += count
                var configuration = ExportConfiguration(source: "r", maxFileEvents: Int(random.next() % 40) + 5,
                                                        maxOpenFiles: Int(random.next() % 5) + 1, batchSize: Int(random.next() % 60) + 10)
                configuration.retry = .none
                if random.next() % 3 == 0 { configuration.compression = .gzip() }
                let context = "seed \(seed) (STRATA_SEED=\(seed) reruns it), round \(round), run \(run)"
                if run < 3 {
                    let flaky = try FlakyTarget(root: folder.path, failAfter: Int(random.next() % 12), failAfterRename: random.next() % 2 == 0,
                                                counting: [.publish, .journal])
                    // A run may also end before its kill step: then it just finishes.
                    _ = try? await exporter(store, root: folder.path, configuration, target: flaky).exportAvailable()
                } else {
                    let summary = try await exporter(store, root: folder.path, configuration).exportAvailable()
                    #expect(summary.checkpoint == UInt64(appended), "\(context)")
                }
                let positions = try Lake.positions(folder.path)
                #expect(Set(positions).count == positions.count, "duplicates: \(context)")
                if run == 3 {
                    #expect(positions.sorted() == Array(1...UInt64(appended)), "\(context)")
                    #expect(try Lake.misplaced(folder.path).isEmpty, "\(context)")
                }
            }
        }
    }
}
