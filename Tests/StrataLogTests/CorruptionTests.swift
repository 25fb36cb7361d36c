import Foundation
import Strata
import StrataTestSupport
import Testing
@testable import StrataLog

/// Damage and bad input (issue 2, "Done when" 4 and 5): a flipped byte is reported by `verify`
/// with its file and offset and never read as data; directories of another format or of no
/// Strata format are refused untouched; rejected appends store nothing.
@Suite("corruption and bad input", .serialized)
struct CorruptionTests {
    static let configuration = LogConfiguration(durability: .none, segmentSize: 64 * 1024)

    /// A closed store of several sealed segments; returns what it holds.
    private func buildStore(_ dir: String) async throws -> [RecordedEvent] {
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        for i in 0..<120 {
            try await store.append(to: "c-\(i % 5)", events: FaultTest.events(25, from: i * 25))
        }
        let events = try await FaultTest.readAll(store)
        try await store.close()
        return events
    }

    /// A sealed segment and an event record in its middle, and the byte to flip in that record's data.
    private func pickDamage(_ dir: String) throws -> (segment: FaultTest.Segment, record: FaultTest.Record, byte: Int) {
        let paths = FaultTest.plainSegmentPaths(dir)
        try #require(paths.count >= 4, "expected several sealed segments, found \(paths.count)")
        let segment = try FaultTest.readSegment(paths[1])
        let record = segment.records[segment.records.count / 2]
        try #require(record.kind == 1)
        return (segment, record, record.end - 5) // inside the data bytes
    }

    private func flip(_ path: String, at offset: Int, in bytes: [UInt8]) throws {
        try FaultTest.overwrite(path, at: offset, with: [bytes[offset] ^ 0x5A])
    }

    @Test("a flipped byte inside a sealed segment is reported by verify with the segment's path and the record's offset")
    func verifyReportsFlippedByte() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-verify")
        defer { TemporaryDirectory.remove(dir) }
        _ = try await buildStore(dir)
        #expect(try LogEventStore.verify(directory: dir).isOK)
        let (segment, record, byte) = try pickDamage(dir)
        try flip(segment.path, at: byte, in: segment.bytes)

        let report = try LogEventStore.verify(directory: dir)
        #expect(!report.isOK)
        let first = try #require(report.problems.first)
        #expect(first.path == segment.path)
        #expect(first.offset == Int64(record.offset), "verify reported \(first)")
        #expect(report.problems.contains { $0.path == segment.path && $0.offset == Int64(record.offset) }, "\(report.problems)")
    }

    @Test("reading the damaged event throws corruption, never wrong data and never a skip; other events still read")
    func damagedEventIsNeverReadAsData() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-read")
        defer { TemporaryDirectory.remove(dir) }
        let written = try await buildStore(dir)
        let (segment, record, byte) = try pickDamage(dir)
        try flip(segment.path, at: byte, in: segment.bytes)
        let p = record.position

        // With the index checkpoint, open does not rescan sealed segments: it opens, and reads check each record.
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        do {
            let event = try await store.readAll(from: .at(p), limit: 1).collect()
            Issue.record("read of the damaged position \(p) returned \(event)")
        } catch let error as StrataError {
            guard case .corruption(let path, let offset, _) = error else { Issue.record("expected corruption, got \(error)"); return }
            #expect(path == segment.path)
            #expect(offset == Int64(record.offset))
        }
        // A read across it throws rather than skipping it, forward, backward and by stream.
        await #expect(throws: StrataError.self) { _ = try await store.readAll().collect() }
        await #expect(throws: StrataError.self) { _ = try await store.readAll(direction: .backward).collect() }
        await #expect(throws: StrataError.self) { _ = try await store.readStream(record.stream).collect() }
        // Everything else reads, unchanged.
        let before = try await store.readAll(limit: Int(p - 1)).collect()
        #expect(before == Array(written[0..<Int(p - 1)]))
        let after = try await store.readAll(from: .at(p + 1)).collect()
        #expect(after == Array(written[Int(p)...]))
        let otherStream = written.first { $0.stream != record.stream }!.stream
        #expect(try await store.readStream(otherStream).collect() == written.filter { $0.stream == otherStream })
        try await store.close()
    }

    @Test("without the index checkpoint, open reports the damaged record with its path and offset")
    func openWithoutCheckpointReportsDamage() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-open")
        defer { TemporaryDirectory.remove(dir) }
        _ = try await buildStore(dir)
        let (segment, record, byte) = try pickDamage(dir)
        try flip(segment.path, at: byte, in: segment.bytes)
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let files = FaultTest.snapshot(dir)
        do {
            let store = try LogEventStore(directory: dir, configuration: Self.configuration)
            try await store.close()
            Issue.record("open succeeded over a damaged sealed segment")
        } catch StrataError.corruption(let path, let offset, _) {
            #expect(path == segment.path)
            #expect(offset == Int64(record.offset))
        }
        #expect(FaultTest.snapshot(dir).filter { $0.key != "HEAD" } == files.filter { $0.key != "HEAD" })
    }

    @Test("a damaged record followed by committed records in the last segment is refused at open, not cut")
    func damageInLastSegmentIsNotCut() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-last")
        defer { TemporaryDirectory.remove(dir) }
        _ = try await buildStore(dir)
        let last = try FaultTest.readSegment(FaultTest.plainSegmentPaths(dir).last!)
        try #require(last.records.count >= 10)
        let record = last.records[last.records.count / 2]
        try flip(last.path, at: record.end - 5, in: last.bytes)
        try FileManager.default.removeItem(atPath: dir + "/index.ckpt")
        let files = FaultTest.snapshot(dir)
        do {
            let store = try LogEventStore(directory: dir, configuration: Self.configuration)
            try await store.close()
            Issue.record("open cut or skipped a damaged record that committed records follow")
        } catch StrataError.corruption(let path, let offset, _) {
            #expect(path == last.path)
            #expect(offset == Int64(record.offset))
        }
        #expect(FaultTest.snapshot(dir).filter { $0.key != "HEAD" } == files.filter { $0.key != "HEAD" }, "open changed the files")
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.problems.contains { $0.path == last.path && $0.offset == Int64(record.offset) }, "\(report.problems)")
    }

    @Test("a damaged compressed segment is reported by verify with its path, and is never read as data or skipped")
    func damagedCompressedSegment() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-gz")
        defer { TemporaryDirectory.remove(dir) }
        var configuration = Self.configuration
        configuration.compressSealedSegments = true
        let store = try LogEventStore(directory: dir, configuration: configuration)
        for i in 0..<120 {
            try await store.append(to: "c-\(i % 5)", events: FaultTest.events(25, from: i * 25))
        }
        try await Wait.until("sealed segments compressed") {
            let names = FaultTest.segmentNames(dir)
            return names.filter { $0.hasSuffix(".seg") }.count == 1 && names.filter { $0.hasSuffix(".seg.gz") }.count >= 3
                && !names.contains { $0.hasSuffix(".tmp") }
        }
        try await store.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
        let gz = dir + "/segments/" + FaultTest.segmentNames(dir).filter { $0.hasSuffix(".seg.gz") }[1]
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: gz)))
        try flip(gz, at: bytes.count / 2, in: bytes)

        let report = try LogEventStore.verify(directory: dir)
        #expect(report.problems.contains { $0.path == gz }, "\(report.problems)")
        // Open may refuse the store (it decompresses sealed segments when it opens them), or
        // open and fail the reads of that segment; it may not read past the damage.
        let reopened: LogEventStore
        do {
            reopened = try LogEventStore(directory: dir, configuration: configuration)
        } catch StrataError.corruption(let path, _, _) {
            #expect(path == gz)
            return
        }
        do {
            let events = try await FaultTest.readAll(reopened)
            Issue.record("a store with a damaged .seg.gz read \(events.count) events without an error")
        } catch StrataError.corruption(let path, _, _) {
            #expect(path == gz)
        }
        try await reopened.close()
    }

    // MARK: - Directories Strata must not touch

    @Test("a data directory whose manifest says version 3 (newer than this code) is refused with unsupportedFormat, and its files are unchanged")
    func manifestVersionTwo() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-v2")
        defer { TemporaryDirectory.remove(dir) }
        let written = try await buildStore(dir)
        let manifestPath = dir + "/manifest.json"
        let original = try String(contentsOfFile: manifestPath, encoding: .utf8)
        try #require(original.contains(#""version":1"#))
        try original.replacingOccurrences(of: #""version":1"#, with: #""version":3"#)
            .write(toFile: manifestPath, atomically: false, encoding: .utf8)
        let files = FaultTest.snapshot(dir)

        do {
            let store = try LogEventStore(directory: dir, configuration: Self.configuration)
            try await store.close()
            Issue.record("a version 3 directory was opened")
        } catch StrataError.unsupportedFormat(let path, let found, _) {
            #expect(path.hasSuffix("manifest.json"))
            #expect(found.contains("3"))
        }
        #expect(throws: StrataError.self) { try LogEventStore.verify(directory: dir) }
        #expect(FaultTest.snapshot(dir) == files, "refusing the directory changed its files")

        try original.write(toFile: manifestPath, atomically: false, encoding: .utf8)
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        #expect(try await FaultTest.readAll(store) == written)
        try await store.close()
    }

    @Test("a non-empty directory that is not a Strata directory is refused, and left exactly as it was")
    func foreignDirectory() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-foreign")
        defer { TemporaryDirectory.remove(dir) }
        try FileManager.default.createDirectory(atPath: dir + "/photos", withIntermediateDirectories: true)
        try "keep me\n".write(toFile: dir + "/notes.txt", atomically: false, encoding: .utf8)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/photos/a.jpg"))
        let files = FaultTest.snapshot(dir)
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()

        #expect(throws: StrataError.self) { try LogEventStore(directory: dir, configuration: Self.configuration) }
        do {
            _ = try LogEventStore(directory: dir, configuration: Self.configuration)
        } catch StrataError.unsupportedFormat {
        } catch {
            Issue.record("expected unsupportedFormat, got \(error)")
        }
        #expect(FaultTest.snapshot(dir) == files)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == entries,
                "Strata wrote into a directory it does not own")
    }

    // MARK: - Rejected appends store nothing

    @Test("appending to a tombstoned stream throws streamTombstoned and changes nothing, also after reopening")
    func tombstonedStream() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-tomb")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: Self.configuration)
        try await store.append(to: "gone", events: FaultTest.events(3))
        try await store.append(to: "kept", events: FaultTest.events(2))
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        let head = try await store.headPosition()
        let before = try await FaultTest.readAll(store)

        for expected in [ExpectedRevision.any, .exact(3), .noStream, .streamExists] {
            await #expect(throws: StrataError.streamTombstoned("gone")) {
                try await store.append(to: "gone", expectedRevision: expected, events: FaultTest.events(1))
            }
        }
        // In a multi-stream append, the tombstoned stream makes the whole append fail.
        await #expect(throws: StrataError.streamTombstoned("gone")) {
            try await store.append([AppendRequest(stream: "kept", events: FaultTest.events(1)),
                                    AppendRequest(stream: "gone", events: FaultTest.events(1))])
        }
        #expect(try await store.headPosition() == head)
        #expect(try await FaultTest.readAll(store) == before)
        try await store.close()

        let reopened = try LogEventStore(directory: dir, configuration: Self.configuration)
        #expect(try await reopened.headPosition() == head)
        #expect(try await FaultTest.readAll(reopened) == before)
        #expect(try await reopened.streamInfo("gone").isTombstoned)
        await #expect(throws: StrataError.streamTombstoned("gone")) {
            try await reopened.append(to: "gone", events: FaultTest.events(1))
        }
        #expect(try await reopened.append(to: "kept", events: FaultTest.events(1)).firstPosition == head + 1)
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }

    @Test("bad input (oversized event, empty type, invalid stream name) is rejected with a typed error and stores nothing")
    func badInputStoresNothing() async throws {
        let dir = TemporaryDirectory.freshPath("corrupt-input")
        defer { TemporaryDirectory.remove(dir) }
        var configuration = Self.configuration
        configuration.limits = EventLimits(maxEventSize: 1_024)
        let store = try LogEventStore(directory: dir, configuration: configuration)
        try await store.append(to: "s", events: FaultTest.events(5))
        let before = try await FaultTest.readAll(store)

        let big = EventData(type: "big", data: Data(repeating: UInt8(ascii: "x"), count: 2_000), contentType: .binary)
        do {
            try await store.append(to: "s", events: [EventData(type: "ok", json: "{}"), big])
            Issue.record("an oversized event was accepted")
        } catch StrataError.eventTooLarge(let id, let size, let limit) {
            #expect(id == big.id.uuidString)
            #expect(size >= 2_000)
            #expect(limit == 1_024)
        }
        await #expect(throws: StrataError.self) { try await store.append(to: "s", events: [EventData(type: "", json: "{}")]) }
        await #expect(throws: StrataError.self) { try await store.append(to: "", events: FaultTest.events(1)) }
        await #expect(throws: StrataError.self) { try await store.append(to: "bad\u{1}name", events: FaultTest.events(1)) }
        await #expect(throws: StrataError.self) { try await store.append(to: "$all", events: FaultTest.events(1)) }
        #expect(try await FaultTest.readAll(store) == before)
        #expect(try await store.headPosition() == 5)
        #expect(try await store.streamInfo("s").lastRevision == 5)
        // The store still works, and the next append takes the next position.
        #expect(try await store.append(to: "s", events: FaultTest.events(1)).firstPosition == 6)
        try await store.close()

        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        let after = try await FaultTest.readAll(reopened)
        #expect(Array(after.prefix(5)) == before)
        #expect(after.count == 6)
        try await reopened.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }
}
