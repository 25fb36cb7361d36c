import Foundation
import StrataTestSupport
import Testing
@testable import StrataLog

@Suite("Segment files, directory lock, manifest and compression")
struct SegmentFileTests {
    typealias Support = FormatTestSupport

    /// Encodes `count` single-record committed transactions with positions from `first`.
    private func committedRecords(_ count: Int, from first: UInt64 = 1) throws -> [UInt8] {
        var buffer: [UInt8] = []
        for index in 0..<count {
            var record = Support.Record()
            record.position = first + UInt64(index)
            record.revision = UInt64(index + 1)
            record.data = Array("{\"n\":\(index)}".utf8)
            try record.encode(into: &buffer)
        }
        return buffer
    }

    private func fileBytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func writeHeader(_ header: [UInt8], to path: String) throws {
        try Data(header + [UInt8](repeating: 0, count: 64)).write(to: URL(fileURLWithPath: path))
    }

    // MARK: - Header

    @Test("create writes the 64-byte header, preallocates the file and open reads the header back")
    func createAndOpen() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 42, createdAtMicros: 1_234, preallocate: 1 << 20)
        #expect(segment.path == directory.path + "/00000000000000000042.seg")
        #expect(segment.fileSize == 1 << 20)
        segment.close()

        let bytes = try fileBytes(directory.path + "/00000000000000000042.seg")
        #expect(bytes.count == 1 << 20)
        #expect(Array(bytes[0..<8]) == Array("STRATASG".utf8))
        #expect(Array(bytes[8..<16]) == [1, 0, 0, 0, 64, 0, 0, 0])
        #expect(Array(bytes[16..<24]) == [42, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[24..<32]) == [0xD2, 0x04, 0, 0, 0, 0, 0, 0])
        #expect(bytes[32..<60].allSatisfy { $0 == 0 })
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        #expect(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 60, as: UInt32.self) } == crc.littleEndian)
        #expect(bytes[64...].allSatisfy { $0 == 0 })
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/00000000000000000042.seg.tmp"))

        let reopened = try SegmentFile.open(path: directory.path + "/00000000000000000042.seg", writable: false)
        defer { reopened.close() }
        #expect(reopened.firstPosition == 42)
        #expect(reopened.createdAtMicros == 1_234)
        #expect(reopened.fileSize == 1 << 20)
    }

    @Test("creating a segment that already exists fails with EEXIST and leaves the file alone")
    func createExisting() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 4_096).close()
        #expect(throws: FileError.io(path: directory.path + "/00000000000000000001.seg", operation: "create", errno: EEXIST)) {
            try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 4_096)
        }
    }

    @Test("a segment header with format version 2 is refused as unsupported")
    func versionTwoRefused() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        var header = SegmentHeader(firstPosition: 1, createdAtMicros: 0).encoded()
        Support.store(UInt32(2), in: &header, at: 8)
        let crc = header.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<60])) }
        Support.store(crc, in: &header, at: 60)
        let path = directory.path + "/" + SegmentFile.fileName(firstPosition: 1)
        try writeHeader(header, to: path)
        #expect(throws: FileError.unsupportedFormat(path: path, found: "segment format version 2", supported: 1)) {
            try SegmentFile.open(path: path, writable: false)
        }
    }

    @Test("a header with a bad magic or checksum is reported corrupt at offset 0")
    func badHeader() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let path = directory.path + "/" + SegmentFile.fileName(firstPosition: 1)
        for damagedByte in [0, 20, 61] {
            var header = SegmentHeader(firstPosition: 1, createdAtMicros: 0).encoded()
            header[damagedByte] ^= 0x10
            try writeHeader(header, to: path)
            #expect(throws: FileError.self) { try SegmentFile.open(path: path, writable: false) }
            do {
                _ = try SegmentFile.open(path: path, writable: false)
            } catch let FileError.corrupt(errorPath, offset, _) {
                #expect(errorPath == path)
                #expect(offset == 0)
            }
        }
    }

    @Test("a header whose first position differs from the file name is corrupt")
    func nameMismatch() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let path = directory.path + "/" + SegmentFile.fileName(firstPosition: 5)
        try writeHeader(SegmentHeader(firstPosition: 6, createdAtMicros: 0).encoded(), to: path)
        #expect(throws: FileError.self) { try SegmentFile.open(path: path, writable: false) }
    }

    @Test("segment file names are 20 zero-padded digits and parse back")
    func fileNames() {
        #expect(SegmentFile.fileName(firstPosition: 1) == "00000000000000000001.seg")
        #expect(SegmentFile.fileName(firstPosition: UInt64.max, compressed: true) == "18446744073709551615.seg.gz")
        #expect(SegmentFile.firstPosition(fromFileName: "00000000000000000007.seg.gz")! == (7, true))
        #expect(SegmentFile.firstPosition(fromFileName: "00000000000000000007.seg")! == (7, false))
        #expect(SegmentFile.firstPosition(fromFileName: "7.seg") == nil)
        #expect(SegmentFile.firstPosition(fromFileName: "00000000000000000007.seg.tmp") == nil)
    }

    // MARK: - Writing and reading

    @Test("writes show through the mapping; a scan reads them back and stops at the zero tail")
    func writeMapScan() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 64 << 10)
        defer { segment.close() }
        let mapped = try segment.mappedBytes()
        let records = try committedRecords(50)
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        try segment.sync()
        #expect(Array(mapped[64..<(64 + records.count)]) == records)
        #expect(segment.fileSize == 64 << 10)

        var positions: [UInt64] = []
        let outcome = try segment.scan { positions.append($0.position) }
        #expect(positions == Array(1...50))
        #expect(outcome.committedEnd == 64 + records.count)
        #expect(outcome.stop == .end(offset: 64 + records.count))
        #expect(!outcome.nonzeroBytesAfterStop)
        #expect(outcome.corruption(path: segment.path, sealed: false) == nil)
    }

    @Test("writing past the preallocation grows the file, and remapIfGrown maps the new bytes")
    func growAndRemap() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 4_096)
        defer { segment.close() }
        let before = try segment.mappedBytes()
        #expect(before.count == 4_096)
        let records = try committedRecords(100)
        #expect(records.count > 8_192)
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        #expect(try segment.remapIfGrown())
        #expect(!(try segment.remapIfGrown()))
        let after = try segment.mappedBytes()
        #expect(after.count == 64 + records.count)
        #expect(Array(after[64...]) == records)
        #expect(before[64] == records[0]) // the old mapping stays readable until close
        let outcome = try segment.scan { _ in }
        #expect(outcome.stop == .limit)
        #expect(outcome.lastCommittedPosition == 100)
    }

    @Test("cutting a torn tail zeroes everything after committedEnd and keeps every byte before it")
    func cutTornTail() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 256 << 10)
        let committed = try committedRecords(20)
        var tail: [UInt8] = []
        for index in 0..<3 { // a transaction that never got its commit record …
            var record = Support.Record()
            record.position = UInt64(21 + index)
            record.commit = false
            try record.encode(into: &tail)
        }
        let torn = Support.Record().encoded // … then half a record
        tail += torn[0..<(torn.count / 2)]
        try (committed + tail).withUnsafeBytes { try segment.write($0, at: 64) }
        segment.close()

        // What the engine does on open, under the LOCK.
        let path = directory.path + "/" + SegmentFile.fileName(firstPosition: 1)
        let before = try fileBytes(path)
        let reopened = try SegmentFile.open(path: path, writable: true)
        defer { reopened.close() }
        let outcome = try reopened.scan { _ in }
        let committedEnd = 64 + committed.count
        #expect(outcome.committedEnd == committedEnd)
        #expect(outcome.lastCommittedPosition == 20)
        #expect(outcome.hasUncommittedRecords)
        #expect(outcome.corruption(path: path, sealed: false) == nil)
        #expect(try reopened.discardTail(from: outcome.committedEnd) == tail.count)

        let after = try fileBytes(path)
        #expect(after.count == before.count)
        #expect(Array(after[0..<committedEnd]) == Array(before[0..<committedEnd]))
        #expect(after[committedEnd...].allSatisfy { $0 == 0 })
        let rescan = try reopened.scan { _ in }
        #expect(rescan.stop == .end(offset: committedEnd))
        #expect(rescan.committedEnd == committedEnd)
        #expect(!rescan.hasUncommittedRecords)
        #expect(try reopened.discardTail(from: committedEnd) == 0)
    }

    @Test("a damaged record in the middle of the last segment is corruption, not a tail to cut")
    func damageInLastSegment() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 64 << 10)
        defer { segment.close() }
        var records = try committedRecords(10)
        let damagedOffset = 64 + records.count / 2
        // Find the record boundary at or after the middle, then damage that record's data.
        var boundary = 0
        records.withUnsafeBytes { buffer in
            _ = RecordDecoder.scan(buffer, from: 0) { view in
                if boundary == 0, 64 + view.offset >= damagedOffset { boundary = view.offset }
            }
        }
        records[boundary + 70] ^= 0x04
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        let outcome = try segment.scan { _ in }
        #expect(outcome.committedEnd == 64 + boundary)
        #expect(outcome.nonzeroBytesAfterStop)
        #expect(outcome.corruption(path: segment.path, sealed: false).map { "\($0)" }?.contains("offset \(64 + boundary)") == true)
    }

    @Test("a reader following the last segment treats a half-written batch as not written yet, then reads it once committed")
    func readerFollowsWriter() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let writer = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 64 << 10)
        defer { writer.close() }
        let reader = try SegmentFile.open(path: writer.path, writable: false)
        defer { reader.close() }

        var batch: [UInt8] = []
        for index in 0..<3 {
            var record = Support.Record()
            record.position = UInt64(index + 1)
            record.commit = index == 2
            try record.encode(into: &batch)
        }
        let cut = batch.count - 10 // the write has reached the disk up to here
        try batch[0..<cut].withUnsafeBytes { try writer.write($0, at: 64) }

        var seen: [UInt64] = []
        let early = try reader.scan(inspectTail: false) { seen.append($0.position) }
        #expect(seen.isEmpty)
        #expect(early.committedEnd == 64)
        #expect(early.corruption(path: reader.path, sealed: false) == nil)

        try batch[cut...].withUnsafeBytes { try writer.write($0, at: 64 + cut) }
        let later = try reader.scan(from: early.committedEnd, inspectTail: false) { seen.append($0.position) }
        #expect(seen == [1, 2, 3])
        #expect(later.committedEnd == 64 + batch.count)
    }

    @Test("sealing truncates the file to the records plus an 8-byte end marker, and a sealed scan is clean")
    func seal() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 64 << 10)
        let records = try committedRecords(10)
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        let logicalEnd = 64 + records.count
        try segment.seal(at: logicalEnd)
        #expect(segment.fileSize == logicalEnd + 8)
        segment.close()

        let sealed = try SegmentFile.open(path: directory.path + "/" + SegmentFile.fileName(firstPosition: 1), writable: false)
        defer { sealed.close() }
        #expect(sealed.fileSize == logicalEnd + 8)
        let outcome = try sealed.scan { _ in }
        #expect(outcome.stop == .end(offset: logicalEnd))
        #expect(outcome.committedEnd == logicalEnd)
        #expect(outcome.corruption(path: sealed.path, sealed: true) == nil)
    }

    @Test("an invalid record at the end of a sealed segment is corruption even with nothing after it")
    func sealedTornTail() throws {
        let records = try committedRecords(3)
        var bytes = SegmentHeader(firstPosition: 1, createdAtMicros: 0).encoded() + records
        bytes += Support.Record().encoded.prefix(30)
        let outcome = bytes.withUnsafeBytes { RecordDecoder.scan($0, from: 64) { _ in } }
        #expect(outcome.corruption(path: "s", sealed: false) == nil)
        #expect(outcome.corruption(path: "s", sealed: true) != nil)
    }

    // MARK: - Compression

    @Test("compressing a sealed segment gives a gzip file that gzip -t accepts and that decompresses to the same bytes")
    func compressionRoundTrip() async throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 1 << 20)
        var rng = Support.SeededGenerator(seed: 3)
        var records: [UInt8] = []
        for index in 0..<1_500 { // about 1.5 MB: more than one compression chunk
            var record = Support.Record.random(using: &rng, position: UInt64(index + 1))
            record.commit = true
            try record.encode(into: &records)
        }
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        try segment.seal(at: 64 + records.count)
        let path = segment.path
        segment.close()
        let original = try fileBytes(path)

        let compressedPath = try #require(try SegmentCompression.compress(segmentAt: path))
        #expect(compressedPath == path + ".gz")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: compressedPath + ".tmp"))
        #expect(try fileBytes(compressedPath).count < original.count)
        #expect(try SegmentCompression.decompress(path: compressedPath) == original)
        #expect(try await ChildProcess.run("/bin/gzip", ["-t", compressedPath]).status == 0)
    }

    @Test("decompressing a truncated gzip segment fails as corrupt")
    func truncatedGzip() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let segment = try SegmentFile.create(directory: directory.path, firstPosition: 1, createdAtMicros: 0, preallocate: 4_096)
        let records = try committedRecords(200)
        try records.withUnsafeBytes { try segment.write($0, at: 64) }
        try segment.seal(at: 64 + records.count)
        let path = segment.path
        segment.close()
        let compressedPath = try #require(try SegmentCompression.compress(segmentAt: path))
        let compressed = try fileBytes(compressedPath)
        try Data(compressed[0..<(compressed.count / 2)]).write(to: URL(fileURLWithPath: compressedPath))
        #expect(throws: FileError.self) { try SegmentCompression.decompress(path: compressedPath) }
    }

    // MARK: - Directory lock

    @Test("tryLock fails while another open file description holds the LOCK, and succeeds once it is released")
    func directoryLock() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let holder = try DirectoryLock(directory: directory.path)
        let other = try DirectoryLock(directory: directory.path)
        #expect(FileManager.default.fileExists(atPath: directory.path + "/LOCK"))
        try holder.lock()
        #expect(!(try other.tryLock()))
        holder.unlock()
        #expect(try other.tryLock())
        #expect(!(try holder.tryLock()))
        other.unlock()
        #expect(try holder.tryLock())
        holder.unlock()
    }

    // MARK: - Manifest

    @Test("a manifest is created in a new directory and loads back unchanged")
    func manifestRoundTrip() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let data = directory.path + "/nested/data"
        let created = try Manifest.create(in: data, createdAt: Date(timeIntervalSince1970: 1_700_000_000.75))
        #expect(created.format == "strata-log")
        #expect(created.version == 1)
        #expect(try Manifest.load(from: data) == created)
        let text = try String(contentsOfFile: data + "/manifest.json", encoding: .utf8)
        let id = try #require(created.id)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        #expect(text == #"{"format":"strata-log","version":1,"createdAt":"2023-11-14T22:13:20Z","id":"\#(id)"}"# + "\n")
        #expect(created.identity == id)
        #expect(throws: FileError.self) { try Manifest.create(in: data) }
        #expect(try Manifest.loadOrCreate(in: data) == created)
    }

    @Test("a manifest written before identities existed gets one derived from its creation time; a bad id is refused")
    func manifestLegacyIdentity() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        try #"{"format":"strata-log","version":1,"createdAt":"2023-11-14T22:13:20Z"}"#.write(toFile: directory.path + "/manifest.json", atomically: true, encoding: .utf8)
        let legacy = try Manifest.load(from: directory.path)
        #expect(legacy.id == nil && legacy.identity == "strata-log-created-2023-11-14T22:13:20Z")
        try #"{"format":"strata-log","version":1,"createdAt":"2023-11-14T22:13:20Z","id":"has space"}"#.write(toFile: directory.path + "/manifest.json", atomically: true, encoding: .utf8)
        #expect(throws: FileError.self) { try Manifest.load(from: directory.path) }
    }

    @Test("a manifest with another format or version 3 is refused as unsupported")
    func manifestUnsupported() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        let path = directory.path + "/manifest.json"
        try #"{"format":"strata-log","version":3,"createdAt":"2024-01-01T00:00:00Z"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FileError.unsupportedFormat(path: path, found: "format version 3", supported: 2)) {
            try Manifest.load(from: directory.path)
        }
        try #"{"format":"kafka-log","version":1,"createdAt":"2024-01-01T00:00:00Z"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FileError.unsupportedFormat(path: path, found: "format \"kafka-log\"", supported: 2)) {
            try Manifest.load(from: directory.path)
        }
        try "not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: FileError.corrupt(path: path, offset: 0, reason: "not a JSON object")) {
            try Manifest.load(from: directory.path)
        }
    }

    @Test("a directory with files but no manifest is not a Strata directory; an empty or missing one gets a manifest")
    func manifestMissing() throws {
        let directory = try TemporaryDirectory("format")
        defer { directory.remove() }
        try "x".write(toFile: directory.path + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: FileError.notAStrataDirectory(path: directory.path)) { try Manifest.loadOrCreate(in: directory.path) }
        #expect(throws: FileError.notAStrataDirectory(path: directory.path)) { try Manifest.load(from: directory.path) }

        let fresh = directory.path + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: false)
        _ = try DirectoryLock(directory: fresh) // the LOCK file alone does not make it non-empty
        #expect(try Manifest.loadOrCreate(in: fresh).version == 1)
        #expect(try Manifest.loadOrCreate(in: directory.path + "/missing").version == 1)
    }

    @Test("file errors tell the user the path, the offset and what to do")
    func errorDescriptions() {
        let corrupt = FileError.corrupt(path: "/d/segments/x.seg", offset: 4_160, reason: "checksum mismatch")
        #expect(corrupt.description.contains("/d/segments/x.seg"))
        #expect(corrupt.description.contains("4160"))
        #expect(corrupt.description.contains("strata verify"))
        let io = FileError.io(path: "/d/LOCK", operation: "open", errno: EACCES)
        #expect(io.description.contains("Permission denied"))
        #expect(FileError.unsupportedFormat(path: "/d/manifest.json", found: "format version 2", supported: 1)
            .description.contains("version 1"))
    }
}
