import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataLog

/// Segment rolling, compression of sealed segments and retention (issue 2, "Segments roll by
/// size, and optionally by UTC day; retention drops whole segments by age or total size;
/// sealed segments can be compressed and are read transparently").
@Suite("segments: rolling, compression and retention", .serialized)
struct RetentionTests {
    static let segmentSize = 64 * 1024

    /// Appends about `bytes` of events in batches of 20 over 6 streams; returns every event of `$all`.
    private func fill(_ store: LogEventStore, bytes: Int, from start: Int = 0) async throws -> [RecordedEvent] {
        let batches = bytes / (20 * 120) + 1
        for i in 0..<batches {
            try await store.append(to: "r-\((start + i) % 6)", events: FaultTest.events(20, from: (start + i) * 20))
        }
        return try await FaultTest.readAll(store)
    }

    /// 20-digit names of `.seg` / `.seg.gz` files, as positions.
    private func position(ofSegmentName name: String) -> UInt64? {
        let stem = name.hasSuffix(".seg.gz") ? String(name.dropLast(7)) : name.hasSuffix(".seg") ? String(name.dropLast(4)) : nil
        guard let stem, stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(stem)
    }

    @Test("segments roll by size: several .seg files named by their first position, 20 digits, each starting where the last ended")
    func rollBySize() async throws {
        let dir = TemporaryDirectory.freshPath("roll-size")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: Self.segmentSize))
        let written = try await fill(store, bytes: 400 * 1024)
        try await store.close()

        let names = FaultTest.segmentNames(dir)
        #expect(names.count >= 5, "\(names)")
        #expect(names.allSatisfy { $0.hasSuffix(".seg") && position(ofSegmentName: $0) != nil }, "\(names)")
        var next: UInt64 = 1
        for name in names {
            let segment = try FaultTest.readSegment(dir + "/segments/" + name)
            #expect(position(ofSegmentName: name) == next, "\(name) should start at \(next)")
            #expect(segment.firstPosition == next, "header of \(name)")
            #expect(segment.records.first?.position == next)
            #expect(segment.records.last?.isCommit == true, "\(name) ends inside an append")
            #expect(segment.recordsEnd <= max(Self.segmentSize, segment.bytes.count))
            next = (segment.records.last?.position ?? next - 1) + 1
        }
        #expect(next == UInt64(written.count) + 1)
        let reopened = try LogEventStore(directory: dir)
        #expect(try await FaultTest.readAll(reopened) == written)
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }

    // MARK: - Daily roll

    /// Rewrites the created-at time of a segment header (and its CRC).
    private func setCreatedAt(_ micros: Int64, ofSegment path: String) throws {
        var header = Array(try FaultTest.readSegment(path).bytes[0..<64])
        for k in 0..<8 { header[24 + k] = UInt8(truncatingIfNeeded: UInt64(bitPattern: micros) >> (8 * UInt64(k))) }
        let crc = header.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        for k in 0..<4 { header[60 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        try FaultTest.overwrite(path, at: 0, with: header)
    }

    @Test("rollDaily: a store keeps one segment within a day, across reopening, and starts a new one when the last segment is from an earlier UTC day")
    func rollDaily() async throws {
        let dir = TemporaryDirectory.freshPath("roll-daily")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize, rollDaily: true)
        let day = LogEngine.utcDay(currentMicroseconds())
        let store = try LogEventStore(directory: dir, configuration: configuration)
        try await store.append(to: "d", events: FaultTest.events(10))
        try await store.close()
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        try await reopened.append(to: "d", events: FaultTest.events(10, from: 10))
        try await reopened.close()
        if LogEngine.utcDay(currentMicroseconds()) == day {
            #expect(FaultTest.segmentNames(dir) == ["00000000000000000001.seg"])
        }

        // The clock cannot be moved, but the segment's birth can: make it two days old.
        try setCreatedAt(currentMicroseconds() - 2 * 86_400_000_000, ofSegment: dir + "/segments/00000000000000000001.seg")
        #expect(try LogEventStore.verify(directory: dir).isOK)
        // Without rollDaily an old segment is simply appended to.
        let plain = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: Self.segmentSize))
        try await plain.append(to: "d", events: FaultTest.events(1, from: 20))
        try await plain.close()
        #expect(FaultTest.segmentNames(dir) == ["00000000000000000001.seg"])
        // With rollDaily the next append starts a segment of today.
        let daily = try LogEventStore(directory: dir, configuration: configuration)
        try await daily.append(to: "d", events: FaultTest.events(2, from: 21))
        try await daily.append(to: "d", events: FaultTest.events(2, from: 23))
        #expect(FaultTest.segmentNames(dir) == ["00000000000000000001.seg", "00000000000000000022.seg"])
        let events = try await FaultTest.readAll(daily)
        try await daily.close()
        #expect(events.count == 25)
        FaultTest.expectContiguous(events)
        let today = try FaultTest.readSegment(dir + "/segments/00000000000000000022.seg")
        #expect(today.records.map(\.position) == [22, 23, 24, 25])
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }

    // MARK: - Compression

    @Test("compressSealedSegments: sealed segments become .seg.gz files that gzip -t accepts, and a reopened store reads every event from them")
    func compression() async throws {
        let dir = TemporaryDirectory.freshPath("compress")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize, compressSealedSegments: true)
        let store = try LogEventStore(directory: dir, configuration: configuration)
        let written = try await fill(store, bytes: 400 * 1024)
        // Compression runs in the background: wait (bounded) until every sealed segment is compressed.
        try await Wait.until("every sealed segment compressed") {
            let names = FaultTest.segmentNames(dir)
            return names.filter { $0.hasSuffix(".seg") }.count == 1 && !names.contains { $0.hasSuffix(".tmp") }
                && names.filter { $0.hasSuffix(".seg.gz") }.count >= 4
        }
        // The open store still reads everything (from its mappings).
        #expect(try await FaultTest.readAll(store) == written)
        try await store.close()

        let names = FaultTest.segmentNames(dir)
        let compressed = names.filter { $0.hasSuffix(".seg.gz") }
        #expect(names.last?.hasSuffix(".seg") == true, "the active segment stays plain: \(names)")
        for name in compressed {
            #expect(position(ofSegmentName: name) != nil, "\(name)")
            let gzip = try await ChildProcess.run("/usr/bin/gzip", ["-t", dir + "/segments/" + name]).status
            #expect(gzip == 0, "gzip -t \(name)")
        }

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(reopened) == written)
        #expect(try await reopened.readAll(direction: .backward).collect() == written.reversed())
        for s in 0..<6 {
            #expect(try await reopened.readStream("r-\(s)").collect() == written.filter { $0.stream == "r-\(s)" })
        }
        // Without the checkpoint, the index is rebuilt from the compressed segments.
        try await reopened.close()
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let rebuilt = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(rebuilt) == written)
        let next = try await rebuilt.append(to: "r-0", events: FaultTest.events(1))
        #expect(next.firstPosition == UInt64(written.count) + 1)
        try await rebuilt.close()
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")
        #expect(report.events == UInt64(written.count) + 1)
    }

    // MARK: - Retention

    @Test("retention by size drops the oldest segments; reads start at the first position kept; appends and reopening go on")
    func retentionBySize() async throws {
        let dir = TemporaryDirectory.freshPath("retain-size")
        defer { TemporaryDirectory.remove(dir) }
        let maxBytes: Int64 = 256 * 1024
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize, retention: LogRetention(maxBytes: maxBytes))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        let batches = 1_000 * 1024 / (20 * 120)
        for i in 0..<batches {
            try await store.append(to: "r-\(i % 6)", events: FaultTest.events(20, from: i * 20))
        }
        let head = try await store.headPosition()
        let stats = try await store.stats()
        let names = FaultTest.segmentNames(dir)
        let firstKept = try #require(names.first.flatMap(position(ofSegmentName:)))
        #expect(firstKept > 1, "no segment was dropped: \(names)")
        #expect(stats.firstPosition == firstKept)
        #expect(stats.bytesOnDisk <= maxBytes + Int64(Self.segmentSize), "\(stats.bytesOnDisk) bytes kept")
        let kept = try await FaultTest.readAll(store)
        #expect(kept.first?.position == firstKept)
        #expect(kept.last?.position == head)
        FaultTest.expectContiguous(kept, first: firstKept)
        #expect(try await store.readAll(direction: .backward).collect().last?.position == firstKept)
        // A stream read shows what is kept of the stream.
        let stream = try await store.readStream("r-0").collect()
        #expect(stream == kept.filter { $0.stream == "r-0" })
        // Appends continue; revisions continue from the stream's whole history.
        let before = try await store.streamInfo("r-0").lastRevision
        let next = try await store.append(to: "r-0", events: FaultTest.events(1))
        #expect(next.firstPosition == head + 1)
        #expect(next.firstRevision == before + 1)
        try await store.close()

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await reopened.stats().firstPosition == firstKept)
        #expect(try await FaultTest.readAll(reopened).map(\.position) == Array(firstKept...(head + 1)))
        #expect(try await reopened.append(to: "r-1", events: FaultTest.events(1)).firstPosition == head + 2)
        try await reopened.close()
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")
    }

    @Test("a store whose oldest segments were dropped by retention reopens without its index checkpoint (as after a crash)")
    func retentionThenRebuild() async throws {
        let dir = TemporaryDirectory.freshPath("retain-rebuild")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize,
                                             retention: LogRetention(maxBytes: 192 * 1024))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        let kept = try await fill(store, bytes: 600 * 1024)
        let info = try await store.streamInfo("r-0")
        try await store.close()
        try #require(kept.first!.position > 1)
        // A writer killed before it wrote a checkpoint leaves none (or a stale one) behind.
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(reopened) == kept)
        #expect(try await reopened.stats().firstPosition == kept.first!.position)
        #expect(try await reopened.streamInfo("r-0").lastRevision == info.lastRevision)
        let next = try await reopened.append(to: "r-0", events: FaultTest.events(1))
        #expect(next.firstPosition == kept.last!.position + 1)
        #expect(next.firstRevision == info.lastRevision + 1)
        try await reopened.close()
    }

    @Test("tombstones and stream metadata written in segments that retention dropped still hold, with and without the checkpoint")
    func retentionKeepsStreamState() async throws {
        let dir = TemporaryDirectory.freshPath("retain-state")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize,
                                             retention: LogRetention(maxBytes: 128 * 1024))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        try await store.append(to: "doomed", events: FaultTest.events(3))
        try await store.deleteStream("doomed", expectedRevision: .exact(3), mode: .tombstone)
        try await store.append(to: "capped", events: FaultTest.events(5))
        try await store.setStreamMetadata("capped", StreamMetadata(maxCount: 2))
        _ = try await fill(store, bytes: 500 * 1024)
        try await store.append(to: "capped", events: FaultTest.events(5, from: 5))
        #expect(try await store.stats().firstPosition > 9, "the control records' segment was not dropped")

        func check(_ store: LogEventStore, _ when: String) async throws {
            await #expect(throws: StrataError.streamTombstoned("doomed"), "\(when)") {
                try await store.append(to: "doomed", events: FaultTest.events(1))
            }
            #expect(try await store.streamInfo("doomed").isTombstoned, "\(when)")
            #expect(try await store.streamInfo("capped").metadata.maxCount == 2, "\(when)")
            #expect(try await store.readStream("capped").collect().map(\.revision) == [9, 10], "\(when)")
        }
        try await check(store, "while open")
        try await store.close()
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        try await check(reopened, "reopened with the checkpoint")
        try await reopened.close()
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let rebuilt = try LogEventStore(directory: dir, configuration: configuration)
        try await check(rebuilt, "reopened without the checkpoint")
        try await rebuilt.close()
    }

    @Test("a writer using retention is killed; the store reopens from the segments it kept")
    func killedWriterWithRetention() async throws {
        let dir = TemporaryDirectory.freshPath("retain-crash")
        defer { TemporaryDirectory.remove(dir) }
        let child = try TestChild.start(store: "file:\(dir)?durability=fsync&segmentSize=\(Self.segmentSize)&retentionMaxBytes=\(192 * 1024)",
                                        "append", ["--prefix", "k", "--max-batch", "20"])
        do {
            // Wait until retention has dropped the first segment.
            try await child.waitForLines("the first segment to be dropped") { lines in
                let names = FaultTest.segmentNames(dir).filter { $0.hasSuffix(".seg") }
                return !lines.isEmpty && !names.isEmpty && names[0] != "00000000000000000001.seg"
            }
        } catch {
            try await child.kill()
            throw error
        }
        try await child.kill()
        let acks = AckLine.parse(child.lines)

        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(segmentSize: Self.segmentSize))
        let first = try await store.stats().firstPosition
        #expect(first > 1)
        let events = try await FaultTest.readAll(store)
        FaultTest.expectContiguous(events, first: first)
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
        for ack in acks where ack.firstPosition >= first { ack.expectPresent(in: byPosition) }
        try await store.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }

    @Test("retention by age drops sealed segments older than maxAge, never the active one")
    func retentionByAge() async throws {
        let dir = TemporaryDirectory.freshPath("retain-age")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize, retention: LogRetention(maxAge: 0.000_001))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        let kept = try await fill(store, bytes: 300 * 1024)
        let head = try await store.headPosition()
        try await store.close()
        // Each roll drops every sealed segment (its newest event is older than a microsecond):
        // only the active segment remains.
        let names = FaultTest.segmentNames(dir)
        #expect(names.count == 1, "\(names)")
        #expect(kept.last?.position == head)
        #expect(kept.first?.position == names.first.flatMap(position(ofSegmentName:)))
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await FaultTest.readAll(reopened) == kept)
        try await reopened.close()
    }

    @Test("compression and retention together leave no dropped segment behind")
    func compressionWithRetention() async throws {
        let dir = TemporaryDirectory.freshPath("compress-retain")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .none, segmentSize: Self.segmentSize, compressSealedSegments: true,
                                             retention: LogRetention(maxBytes: 128 * 1024))
        let store = try LogEventStore(directory: dir, configuration: configuration)
        _ = try await fill(store, bytes: 1_200 * 1024)
        let first = try await store.stats().firstPosition
        let head = try await store.headPosition()
        // Let background compression settle: no temporary file, and the listing stays the same.
        var previous: [String] = []
        try await Wait.until("compression to settle") {
            let names = FaultTest.segmentNames(dir)
            defer { previous = names }
            return names == previous && !names.contains { $0.hasSuffix(".tmp") }
                && names.filter { $0.hasSuffix(".seg") }.count <= 1
        }
        try await store.close()
        let names = FaultTest.segmentNames(dir)
        let stale = names.filter { (position(ofSegmentName: $0) ?? .max) < first }
        #expect(stale.isEmpty, "segments dropped by retention are back on disk: \(stale); first kept is \(first)")
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        #expect(try await reopened.stats().firstPosition == first)
        #expect(try await FaultTest.readAll(reopened).map(\.position) == Array(first...head))
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }
}
