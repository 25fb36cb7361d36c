import Foundation
import Strata
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataLog

/// Sealed segments' index files (docs/FORMAT.md, "Segment index file"; issue 20): written at
/// seal, used after a reopen, rebuilt when missing or damaged, and the in-memory index bounded
/// by the newest segment.
@Suite("segment index files")
struct SegmentIndexFileTests {
    static let configuration = LogConfiguration(durability: .none, segmentSize: 16 * 1024)

    static func event(_ n: Int, id: UUID = EventID.random()) -> EventData {
        EventData(id: id, type: "t\(n % 3)", json: #"{"n":\#(n),"pad":"\#(String(repeating: "x", count: 60))"}"#)
    }

    /// Appends `count` events round-robin over `streams` streams, 10 per append; returns each
    /// stream's events' ids in revision order.
    static func fill(_ store: LogEventStore, count: Int, streams: Int, from start: Int = 0) async throws -> [String: [UUID]] {
        var ids: [String: [UUID]] = [:]
        var n = start
        while n < start + count {
            let stream = "s-\(n / 10 % streams)"
            let events = (n..<n + 10).map { Self.event($0) }
            try await store.append(to: stream, events: events)
            ids[stream, default: []] += events.map(\.id)
            n += 10
        }
        return ids
    }

    static func indexFiles(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/segments")) ?? []).filter { $0.hasSuffix(".idx") }.sorted()
    }

    static func segments(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/segments")) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
    }

    /// Every stream read forward, backward and in small pages from a middle revision matches
    /// what was appended.
    static func expectStreams(_ store: LogEventStore, _ expected: [String: [UUID]], _ label: String) async throws {
        for (stream, ids) in expected {
            let forward = try await store.readStream(stream).collect()
            #expect(forward.map(\.id) == ids, "\(label): \(stream) forward")
            #expect(forward.map(\.revision) == Array(1...UInt64(ids.count)), "\(label): \(stream) revisions")
            let backward = try await store.readStream(stream, direction: .backward).collect()
            #expect(backward.map(\.id) == ids.reversed(), "\(label): \(stream) backward")
            let middle = UInt64(ids.count / 2)
            var revision = middle
            var paged: [UUID] = []
            while true {
                let page = try await store.readStreamPage(stream, from: .at(revision), direction: .forward, maxCount: 7)
                paged += page.events.map(\.id)
                guard let next = page.next else { break }
                revision = next
            }
            #expect(paged == Array(ids[Int(middle - 1)...]), "\(label): \(stream) pages from revision \(middle)")
            let back = try await store.readStreamPage(stream, from: .at(middle), direction: .backward, maxCount: 5)
            #expect(back.events.map(\.id) == Array(ids[Int(middle) - 5..<Int(middle)].reversed()), "\(label): \(stream) backward page")
            let info = try await store.streamInfo(stream)
            #expect(info.eventCount == ids.count, "\(label): \(stream) event count")
        }
    }

    @Test("sealed segments get index files at seal; after a reopen their offsets, ids and revisions are read from the files, not memory")
    func writtenAtSealAndUsedAfterReopen() async throws {
        let dir = TemporaryDirectory.freshPath("idx-seal")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        let expected = try await Self.fill(store, count: 2000, streams: 7)
        let segmentCount = Self.segments(in: dir).count
        #expect(segmentCount > 5, "the workload spans several segments")
        try await Self.expectStreams(store, expected, "before reopen")
        try await store.close()
        // Built in the background after each seal; a close waits for the last ones.
        #expect(Self.indexFiles(in: dir).count == segmentCount - 1, "every sealed segment has its index file: \(Self.indexFiles(in: dir))")

        let reopened = try LogEventStore(directory: dir, configuration: Self.configuration)
        let (indexed, idsInMemory, recent, newestEvents) = reopened.engine.withIndexLock {
            (reopened.engine.index.segments.dropLast().allSatisfy { $0.table != nil },
             reopened.engine.index.ids.count,
             reopened.engine.index.streams.reduce(0) { $0 + $1.recent.count },
             reopened.engine.index.lastSegment?.eventCount ?? 0)
        }
        #expect(indexed, "every sealed segment's index is its file")
        #expect(idsInMemory == newestEvents, "only the newest segment's ids are in memory")
        #expect(recent == newestEvents, "only the newest segment's revisions are in memory")
        try await Self.expectStreams(reopened, expected, "after reopen")
        let all = try await reopened.readAll().collect()
        #expect(all.map(\.position) == Array(1...2000))
        let back = try await reopened.readAll(direction: .backward).collect()
        #expect(back.map(\.position) == Array((1...2000).reversed()))
        // Appending after the reopen continues every stream.
        let more = try await Self.fill(reopened, count: 500, streams: 7, from: 2000)
        var merged = expected
        for (k, v) in more { merged[k, default: []] += v }
        try await Self.expectStreams(reopened, merged, "after more appends")
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }

    @Test("an event id stored in a sealed segment is found after a reopen: appending it again is idempotent")
    func idempotencyOfAnOldID() async throws {
        let dir = TemporaryDirectory.freshPath("idx-idempotent")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        let old = Self.event(-1)
        let first = try await store.append(to: "orders", event: old)
        _ = try await Self.fill(store, count: 1500, streams: 5)
        try await store.close()

        let reopened = try LogEventStore(directory: dir, configuration: Self.configuration)
        let inMemory = reopened.engine.withIndexLock { reopened.engine.index.ids.firstPosition(for: old.id) { _ in true } }
        #expect(inMemory == nil, "the old id is not in the in-memory id table")
        let again = try await reopened.append(to: "orders", event: old)
        #expect(again.firstPosition == first.firstPosition, "the retry returns the stored event")
        #expect(try await reopened.headPosition() == 1501, "nothing was appended")
        // The same id in another stream is a conflict, not a new event.
        await #expect(throws: StrataError.self) { try await reopened.append(to: "other", event: old) }
        // New ids still append.
        let fresh = try await reopened.append(to: "orders", event: Self.event(7))
        #expect(fresh.firstPosition == 1502)
        try await reopened.close()
    }

    @Test("a missing or damaged index file is rebuilt from its segment, never trusted")
    func damagedOrMissingRebuilt() async throws {
        let dir = TemporaryDirectory.freshPath("idx-damaged")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        let expected = try await Self.fill(store, count: 1500, streams: 4)
        try await store.close()
        let files = Self.indexFiles(in: dir)
        #expect(files.count >= 3)
        let missing = dir + "/segments/" + files[0]
        let damaged = dir + "/segments/" + files[1]
        let good = try Data(contentsOf: URL(fileURLWithPath: damaged))
        try FileManager.default.removeItem(atPath: missing)
        var bytes = good
        bytes[bytes.count / 2] ^= 0x55  // in the body: only the body CRC can tell
        try bytes.write(to: URL(fileURLWithPath: damaged))

        // With the checkpoint (which says the segments are indexed) and without it.
        for withCheckpoint in [true, false] {
            if !withCheckpoint {
                try FileManager.default.removeItem(atPath: missing)
                try bytes.write(to: URL(fileURLWithPath: damaged))
                try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
            }
            let reopened = try LogEventStore(directory: dir, configuration: Self.configuration)
            try await Self.expectStreams(reopened, expected, withCheckpoint ? "checkpoint" : "rebuild")
            #expect(FileManager.default.fileExists(atPath: missing), "the missing index file was written again")
            #expect(try Data(contentsOf: URL(fileURLWithPath: damaged)) == good, "the damaged index file was rebuilt")
            try await reopened.close()
        }
    }

    @Test("a store written before index files (no .idx, a version-2 checkpoint) opens, and gets its index files once")
    func storeWithoutIndexFilesOpens() async throws {
        let dir = TemporaryDirectory.freshPath("idx-v1")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        let expected = try await Self.fill(store, count: 1500, streams: 6)
        try await store.close()
        // What the previous version left: segments only, and a checkpoint of version 2.
        for name in Self.indexFiles(in: dir) { try FileManager.default.removeItem(atPath: dir + "/segments/" + name) }
        let checkpoint = URL(fileURLWithPath: dir + "/index.ckpt")
        var bytes = try Data(contentsOf: checkpoint)
        bytes[8] = 2
        try bytes.write(to: checkpoint)

        let reopened = try LogEventStore(directory: dir, configuration: Self.configuration)
        #expect(Self.indexFiles(in: dir).count == Self.segments(in: dir).count - 1)
        try await Self.expectStreams(reopened, expected, "converted")
        try await reopened.close()
        // Read-only opens of such a store work too, keeping the index in memory.
        for name in Self.indexFiles(in: dir) { try FileManager.default.removeItem(atPath: dir + "/segments/" + name) }
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let reader = try LogEventStore(directory: dir, configuration: LogConfiguration(readOnly: true))
        try await Self.expectStreams(reader, expected, "read-only")
        #expect(Self.indexFiles(in: dir).isEmpty, "a read-only open writes nothing")
        try await reader.close()
    }

    @Test("a crash between sealing a segment and renaming its index file loses nothing: the next open builds the file")
    func crashBeforeIndexRename() async throws {
        let disk = SimulatedDisk(seed: 20)
        let dir = "/sim/idx-crash"
        let configuration = LogConfiguration(durability: .fsync, segmentSize: 4096)
        var store = try LogEventStore(directory: dir, configuration: configuration, fileSystem: disk.fileSystem())
        disk.inject(.init(.rename, .ioError, pathContains: ".idx", times: .max))
        var acknowledged: [UUID] = []
        for n in 0..<120 {
            let e = Self.event(n)
            try await store.append(to: "s-\(n % 3)", event: e)
            acknowledged.append(e.id)
        }
        let unindexed = store.engine.withIndexLock { store.engine.index.segments.dropLast().filter { $0.table == nil }.count }
        #expect(unindexed > 2, "the failed renames left sealed segments indexed in memory")
        #expect(try await store.readAll().collect().map(\.id) == acknowledged, "reads work with the index in memory")
        disk.powerLoss(.keepAll)
        disk.clearFaults()
        store = try LogEventStore(directory: dir, configuration: configuration, fileSystem: disk.fileSystem())
        let all = try await store.readAll().collect()
        #expect(all.map(\.id) == acknowledged)
        let indexed = store.engine.withIndexLock { store.engine.index.segments.dropLast().allSatisfy { $0.table != nil } }
        #expect(indexed, "the reopen built every missing index file")
        let stream = try await store.readStream("s-1").collect()
        #expect(stream.map(\.id) == acknowledged.enumerated().filter { $0.offset % 3 == 1 }.map(\.element))
        try await store.close()
    }

    @Test("index file layout: offsets, sorted ids with a bloom filter, sorted stream entries; a bad CRC is refused")
    func layout() async throws {
        let dir = TemporaryDirectory.freshPath("idx-layout")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        _ = try await Self.fill(store, count: 400, streams: 3)
        let segment = store.engine.withIndexLock { store.engine.index.segments[0] }
        let table = try #require(segment.table)
        #expect(table.slotCount == segment.eventCount)
        let events = try await store.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: table.slotCount).events
        for (i, e) in events.enumerated() {
            #expect(table.offset(at: i) != 0)
            #expect(table.mayContainID(hash: IDTable.hash(e.id)))
            var found: UInt64?
            _ = table.positions(ofIDHash: IDTable.hash(e.id)) { found = $0; return true }
            #expect(found == e.position)
        }
        var misses = 0
        for _ in 0..<10_000 where table.mayContainID(hash: IDTable.hash(EventID.random())) { misses += 1 }
        #expect(misses < 300, "false positives \(misses) of 10000")
        for stream in Set(events.map(\.stream)) { #expect(table.mayContainStream(hash: StreamNameHash.hash(stream))) }
        var streamMisses = 0
        for i in 0..<10_000 where table.mayContainStream(hash: StreamNameHash.hash("absent-\(i)")) { streamMisses += 1 }
        #expect(streamMisses < 300, "stream filter false positives \(streamMisses) of 10000")
        #expect(table.streamEntries(hash: StreamNameHash.hash("absent-1"), revisions: 1...UInt64.max, backward: false, limit: .max).isEmpty)
        let s0 = events.filter { $0.stream == "s-0" }
        let entries = table.streamEntries(hash: StreamNameHash.hash("s-0"), revisions: 1...UInt64.max, backward: false, limit: .max)
        #expect(entries.map(\.position) == s0.map(\.position))
        let back = table.streamEntries(hash: StreamNameHash.hash("s-0"), revisions: 2...UInt64.max, backward: true, limit: 3)
        #expect(back.map(\.revision) == Array(s0.map(\.revision).suffix(3).reversed()))
        try await store.close()

        let path = dir + "/segments/" + Self.indexFiles(in: dir)[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        let result = SegmentIndexFile.open(path: path, firstPosition: 1, generation: 0, end: nil, fileSystem: POSIXFileSystem())
        guard case .failure(.damaged(let reason)) = result else { Issue.record("a damaged file was accepted"); return }
        #expect(reason.contains("CRC"), "\(reason)")
    }

    @Test("scavenges write the new generation's index file and remove the old one; compressed segments and retention keep their index files consistent")
    func scavengeCompressionRetention() async throws {
        let dir = TemporaryDirectory.freshPath("idx-scavenge")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: 16 * 1024, compressSealedSegments: true)
        let store = try LogEventStore(directory: dir, configuration: configuration)
        var expected = try await Self.fill(store, count: 2000, streams: 5)
        try await store.deleteStream("s-2", expectedRevision: .any, mode: .tombstone)
        expected["s-2"] = nil
        let report = try await store.scavenge()
        #expect(report.segmentsRewritten > 0)
        try await Self.expectStreams(store, expected, "after the scavenge")
        try await store.close()
        // Every index file belongs to a segment file of the same generation, and every sealed
        // segment has one.
        func check(_ label: String) throws {
            let names = (try FileManager.default.contentsOfDirectory(atPath: dir + "/segments")).filter { !$0.hasSuffix(".tmp") }
            let segments = names.compactMap(SegmentFile.parseName).map { "\($0.firstPosition).\($0.generation)" }
            let indexes = names.compactMap(SegmentIndexFile.parseName).map { "\($0.firstPosition).\($0.generation)" }
            #expect(Set(indexes).isSubset(of: Set(segments)), "\(label): index files without their segment: \(names.sorted())")
            #expect(indexes.count == Set(segments).count - 1, "\(label): \(names.sorted())")
            #expect(names.contains { $0.hasSuffix(".seg.gz") }, "\(label): sealed segments were compressed")
        }
        try check("after the scavenge")

        // Reopened: the compressed, rewritten segments are read through their index files.
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        try await Self.expectStreams(reopened, expected, "after reopening")
        await #expect(throws: StrataError.self) { _ = try await reopened.readStream("s-2").collect() }
        try await reopened.close()
        try check("after reopening")

        // Retention drops the oldest segments with their index files.
        let retained = LogConfiguration(durability: .none, segmentSize: 16 * 1024, retention: LogRetention(maxBytes: 48 * 1024))
        let third = try LogEventStore(directory: dir, configuration: retained)
        _ = try await Self.fill(third, count: 300, streams: 2, from: 10_000)
        let first = try await third.stats().firstPosition
        #expect(first > 1, "retention dropped segments")
        try await third.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/segments")
        let oldest = names.compactMap(SegmentIndexFile.parseName).map(\.firstPosition).min() ?? 0
        #expect(oldest >= first, "the index files of dropped segments are gone: \(names.sorted())")
    }

    @Test("an incremental backup keeps the backup's index files instead of indexing every segment again; a restore builds its own")
    func backupKeepsIndexFiles() async throws {
        let source = TemporaryDirectory.freshPath("idx-backup-source")
        let backup = TemporaryDirectory.freshPath("idx-backup")
        let restored = TemporaryDirectory.freshPath("idx-backup-restored")
        defer { for p in [source, backup, restored] { TemporaryDirectory.remove(p) } }
        let store = try LogEventStore(directory: source, configuration: Self.configuration)
        let expected = try await Self.fill(store, count: 1500, streams: 4)
        try await store.close()
        _ = try await LogBackup.backup(directory: source, to: backup)
        let first = Self.indexFiles(in: backup)
        #expect(first.count == Self.segments(in: backup).count - 1, "the backup's open indexed its sealed segments")
        let inode = { (name: String) in (try? FileManager.default.attributesOfItem(atPath: backup + "/segments/" + name)[.systemFileNumber] as? Int) ?? -1 }
        let before = first.map(inode)
        _ = try await LogBackup.backup(directory: source, to: backup)
        #expect(Self.indexFiles(in: backup) == first)
        #expect(first.map(inode) == before, "the second run kept the index files (not rebuilt)")
        _ = try await LogBackup.restore(backup: backup, to: restored)
        let reopened = try LogEventStore(directory: restored, configuration: Self.configuration)
        try await Self.expectStreams(reopened, expected, "restored")
        try await reopened.close()
        #expect(Self.indexFiles(in: restored).count == Self.segments(in: restored).count - 1)
    }
}
