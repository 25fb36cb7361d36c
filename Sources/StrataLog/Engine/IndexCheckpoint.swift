import Foundation
import Strata
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

/// The index checkpoint, `index.ckpt` (docs/FORMAT.md, "Index checkpoint"): the in-memory part
/// of the index (stream state, and the segments without an index file) saved as flat arrays so that opening a large store reads a few large blocks instead of
/// replaying the log. It is only an accelerator: when it is missing, damaged, of another
/// version, or does not match the segments on disk, the engine rebuilds the index from the log.
enum IndexCheckpoint {
    static let fileName = "index.ckpt"
    static let magic: [UInt8] = Array("STRATAIX".utf8)
    static let version: UInt32 = 3

    static func exists(in directory: String, fileSystem: any FileSystem) -> Bool {
        fileSystem.exists(directory + "/" + fileName)
    }

    // MARK: - Writing

    /// Writes the index atomically (temporary file, fsync, rename).
    static func write(_ index: LogIndex, to directory: String, fileSystem: any FileSystem) throws {
        let path = directory + "/" + fileName
        // A name of this process's own: several processes may checkpoint the same directory.
        let temporary = path + ".\(getpid()).\(EventID.random().uuidString.prefix(8)).tmp"
        let out = try BinaryFileWriter(path: temporary, fileSystem: fileSystem)
        do {
            out.bytes(magic)
            out.u32(version)
            out.u32(0)
            out.u64(index.head)
            out.u64(index.firstPosition)
            out.i64(index.lastRecordedAt)
            out.u64(UInt64(index.segments.count))
            for s in index.segments {
                out.u64(s.firstPosition)
                // The file's generation: a scavenge rewrites a segment under a new one, and
                // the offsets below describe only this one.
                out.u32(UInt32(s.generation))
                out.u64(UInt64(s.end))
                out.i64(s.lastRecordedAt)
                // The CRC field of the last committed record lets a reader check that the log
                // still holds what the checkpoint describes.
                out.u32(try lastRecordChecksum(s))
                out.u8(s.table == nil ? 0 : 1)
                out.u64(UInt64(s.offsets.count))
                out.array(s.offsets)
            }
            out.u64(UInt64(index.streams.count))
            for stream in index.streams {
                let name = Array(stream.name.utf8)
                out.u16(UInt16(name.count))
                out.bytes(name)
                out.u64(stream.deletedThrough)
                out.u8(stream.tombstoned ? 1 : 0)
                out.i64(stream.metadata.maxCount.map(Int64.init) ?? -1)
                out.u64((stream.metadata.maxAge ?? Double.nan).bitPattern)
                out.u64(stream.metadata.truncateBefore ?? 0)
                if let custom = stream.metadata.custom {
                    out.u32(UInt32(custom.count))
                    out.bytes(Array(custom))
                } else {
                    out.u32(UInt32.max)
                }
                out.u64(stream.lastRevision)
                out.u64(stream.lastPosition)
                out.u64(UInt64(stream.recent.count))
                out.array(stream.recent)
            }
            out.u64(UInt64(index.ids.count))
            out.u64(UInt64(index.ids.capacity))
            out.array(index.ids.slots)
            try out.finish()
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }
        try StrataErrorBridge.run {
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(directory)
        }
    }

    /// The CRC field of a segment's last committed record (0 when it has none), remembered so
    /// that a checkpoint does not decompress sealed segments to find it again.
    static func lastRecordChecksum(_ s: SegmentEntry) throws -> UInt32 {
        if let known = s.lastRecordCRC { return known }
        guard s.end > SegmentHeader.size else { return 0 }
        let bytes = try s.bytes
        let crc = bytes.loadUnaligned(fromByteOffset: try lastRecordOffset(s), as: UInt32.self)
        s.lastRecordCRC = crc
        return crc
    }

    /// The offset of the CRC field of the record that ends at `s.end`: found by walking from the
    /// last event (control records may follow it).
    static func lastRecordOffset(_ s: SegmentEntry) throws -> Int {
        let bytes = try s.bytes
        var at = s.lastEventOffset.map(Int.init) ?? SegmentHeader.size
        while true {
            let length = Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            let next = at + RecordFormat.frameSize + length
            if next >= s.end || length == 0 { return at + 4 }
            at = next
        }
    }

    // MARK: - Loading

    struct Loaded {
        /// The segment (index into the files) and offset the replay continues from.
        let segmentIndex: Int
        let end: Int
    }

    /// Loads the checkpoint into `index` when it is valid for these segment files.
    static func load(directory: String, segmentFiles: [LogEngine.SegmentFileName], engine: LogEngine, into index: LogIndex) -> Loaded? {
        let path = directory + "/" + fileName
        guard let input = try? BinaryFileReader(path: path, fileSystem: engine.fileSystem) else { return nil }
        do {
            guard try input.bytes(8) == magic, try input.u32() == version else { return nil }
            _ = try input.u32()
            let head = try input.u64()
            let firstPosition = try input.u64()
            let lastRecordedAt = try input.i64()
            // Every count is checked against the bytes left before it sizes anything: a damaged
            // or forged count must be refused, not trap or allocate without bound (found by
            // Fuzz/FuzzIndexCheckpoint).
            let segmentCount = try input.count(minimumBytesEach: 41)
            var segments: [(first: UInt64, generation: Int, end: Int, lastRecordedAt: Int64, crc: UInt32, indexed: Bool, offsets: [UInt32])] = []
            for _ in 0..<segmentCount {
                let first = try input.u64()
                let generation = Int(try input.u32())
                guard let end = Int(exactly: try input.u64()) else { return nil }
                let last = try input.i64()
                let crc = try input.u32()
                let indexed = try input.u8()
                guard indexed <= 1 else { return nil }
                let count = try input.count(minimumBytesEach: 4)
                guard indexed == 0 || count == 0 else { return nil }
                segments.append((first, generation, end, last, crc, indexed == 1, try input.array(UInt32.self, count: count)))
            }
            let streamCount = try input.count(minimumBytesEach: 63)
            var streams: [StreamEntry] = []
            streams.reserveCapacity(streamCount)
            var streamIDs: [String: Int] = Dictionary(minimumCapacity: streamCount)
            var withRecent: Set<Int> = []
            for i in 0..<streamCount {
                let nameLength = Int(try input.u16())
                let name = String(decoding: try input.bytes(nameLength), as: UTF8.self)
                let deletedThrough = try input.u64()
                let tombstoned = try input.u8() != 0
                let maxCount = try input.i64()
                let maxAge = Double(bitPattern: try input.u64())
                let truncateBefore = try input.u64()
                let customLength = try input.u32()
                let custom: Data? = customLength == UInt32.max ? nil : Data(try input.bytes(Int(customLength)))
                let lastRevision = try input.u64()
                let lastPosition = try input.u64()
                let recent = try input.array(UInt64.self, count: try input.count(minimumBytesEach: 8))
                guard UInt64(recent.count) <= lastRevision else { return nil }
                var entry = StreamEntry(name: name, lastRevision: lastRevision, lastPosition: lastPosition, recent: recent)
                entry.deletedThrough = deletedThrough
                entry.tombstoned = tombstoned
                entry.metadata = StreamMetadata(maxCount: maxCount < 0 ? nil : Int(maxCount), maxAge: maxAge.isNaN ? nil : maxAge,
                                                truncateBefore: truncateBefore == 0 ? nil : truncateBefore, custom: custom)
                if !recent.isEmpty { withRecent.insert(i) }
                streamIDs[name] = i
                streams.append(entry)
            }
            guard let idCount = Int(exactly: try input.u64()) else { return nil }
            let idCapacity = try input.count(minimumBytesEach: 16)
            guard idCapacity >= 16, idCapacity.nonzeroBitCount == 1 else { return nil }
            let slots = try input.array(UInt64.self, count: idCapacity * 2)
            guard try input.finishVerifyingChecksum() else { return nil }

            // Match the checkpoint's segments with the files: files at the front may be gone
            // (retention); every other checkpoint segment must be on disk, in order.
            guard let lastCovered = segments.last else { return nil }
            let filePositions = segmentFiles.map(\.firstPosition)
            guard let lastFileIndex = filePositions.firstIndex(of: lastCovered.first) else { return nil }
            let dropped = segments.count - (lastFileIndex + 1)
            guard dropped >= 0 else { return nil }
            let kept = Array(segments[dropped...])
            guard kept.map(\.first) == Array(filePositions[0...lastFileIndex]),
                  kept.map(\.generation) == segmentFiles[0...lastFileIndex].map(\.generation) else { return nil }

            var entries: [SegmentEntry] = []
            for (i, s) in kept.enumerated() {
                let entry = try engine.openSegment(segmentFiles[i])
                // Only the newest segment is read here: compressed sealed ones stay compressed
                // until a read needs them.
                if i == kept.count - 1 { guard s.end <= (try entry.bytes).count else { return nil } }
                entry.offsets = s.offsets
                entry.end = s.end
                entry.lastRecordedAt = s.lastRecordedAt
                entry.lastRecordCRC = s.crc
                if s.indexed {
                    // Indexed segments come first (never the newest); their index file must
                    // check, or be rebuilt from the segment (not in a read-only open).
                    guard i < kept.count - 1, entries.allSatisfy({ $0.table != nil }),
                          let table = try engine.indexFile(for: entry) else { return nil }
                    entry.table = table
                    entry.lastRecordedAt = table.newestRecordedAt
                }
                entries.append(entry)
            }
            // The log must still hold the last record the checkpoint covers.
            let last = entries[entries.count - 1]
            if last.end > SegmentHeader.size {
                let crcOffset = try lastRecordOffset(last)
                let bytes = try last.bytes
                guard bytes.loadUnaligned(fromByteOffset: crcOffset, as: UInt32.self) == kept[kept.count - 1].crc,
                      case .record(let view) = RecordDecoder.decode(bytes, at: crcOffset - 4), view.end == last.end else {
                    return nil
                }
            }
            index.head = head
            index.firstPosition = entries.first.map { Swift.max(firstPosition, $0.firstPosition) } ?? firstPosition
            index.lastRecordedAt = lastRecordedAt
            index.segments = entries
            index.streams = streams
            index.streamIDs = streamIDs
            index.forgetLastStream()
            index.ids = IDTable(slots: slots, count: idCount)
            index.streamsWithRecent = withRecent
            return Loaded(segmentIndex: entries.count - 1, end: last.end)
        } catch {
            return nil
        }
    }
}

extension LogEngine {
    /// Saves the index checkpoint. Writer thread (or open, before the writer starts).
    func writeCheckpoint() throws {
        // The checkpoint must not describe records that are not durable yet (`.interval`, `.none`).
        if unsyncedFrom != nil, let file = index.lastSegment?.file {
            try StrataErrorBridge.run { try file.sync() }
            unsyncedFrom = nil
        }
        try IndexCheckpoint.write(index, to: directory, fileSystem: fileSystem)
        checkpointHead = index.head
    }
}

extension LogIndex {
    /// Empties the index (before a rebuild from the log).
    func reset() {
        head = 0
        firstPosition = 1
        segments = []
        streamIDs = [:]
        streams = []
        forgetLastStream()
        ids = IDTable()
        streamsWithRecent = []
        lastRecordedAt = 0
    }
}

/// Buffered binary output with a running CRC32C, for the checkpoint.
final class BinaryFileWriter {
    private let file: any StorageFile
    private var offset = 0
    private var buffer: [UInt8] = []
    private var crc: UInt32 = 0
    private var error: (any Error)?

    init(path: String, fileSystem: any FileSystem) throws {
        file = try StrataErrorBridge.run { try fileSystem.open(path, mode: .truncate) }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { file.close() }

    func u8(_ v: UInt8) { buffer.append(v); flushIfFull() }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }; flushIfFull() }
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }; flushIfFull() }
    func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }; flushIfFull() }
    func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    func bytes(_ v: [UInt8]) { buffer.append(contentsOf: v); flushIfFull() }

    /// Writes an array of little-endian integers as one block.
    func array<T: FixedWidthInteger>(_ values: [T]) {
        flush()
        values.withUnsafeBytes { raw in
            crc = CRC32C.checksum(raw, continuing: crc)
            writeAll(raw)
        }
    }

    private func flushIfFull() { if buffer.count >= 1 << 20 { flush() } }

    private func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            crc = CRC32C.checksum(raw, continuing: crc)
            writeAll(raw)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) {
        guard error == nil else { return }
        do {
            try file.write(raw, at: offset)
            offset += raw.count
        } catch {
            self.error = StrataErrorBridge.convert(error)
        }
    }

    /// Appends the CRC and syncs.
    func finish() throws {
        flush()
        var trailer = crc.littleEndian
        withUnsafeBytes(of: &trailer) { writeAll($0) }
        if let error { throw error }
        try StrataErrorBridge.run { try file.sync() }
    }
}

/// Buffered binary input with a running CRC32C, for the checkpoint.
final class BinaryFileReader {
    private let file: any StorageFile
    private var offset = 0
    private var buffer: [UInt8] = []
    private var index = 0
    private var crc: UInt32 = 0

    struct Truncated: Error {}

    /// The file's size, and the bytes consumed so far (read by the caller, not just buffered).
    private var fileSize = 0
    private var consumed = 0

    init(path: String, fileSystem: any FileSystem) throws {
        let file = try StrataErrorBridge.run { try fileSystem.open(path, mode: .readOnly) }
        do {
            fileSize = try StrataErrorBridge.run { try file.size() }
        } catch {
            file.close()
            throw error
        }
        self.file = file
    }

    deinit { file.close() }

    /// Reads up to `count` bytes at the current offset into `raw`; 0 at the end of the file.
    private func readSome(_ raw: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try StrataErrorBridge.run { try file.read(into: raw, at: offset) }
        offset += n
        return n
    }

    /// Reads a u64 count of items that take at least `minimumBytesEach` bytes each in the rest
    /// of the file; throws `Truncated` when that many could not fit (so nothing is sized from it).
    func count(minimumBytesEach: Int) throws -> Int {
        let value = try u64()
        guard value <= UInt64(Swift.max(0, fileSize - consumed) / minimumBytesEach) else { throw Truncated() }
        return Int(value)
    }

    private func fill(_ count: Int) throws {
        if buffer.count - index >= count { return }
        // Never size a buffer from a length the file cannot hold (a damaged 4 GiB `custom`
        // length allocated 4 GiB before failing; found by Fuzz/FuzzIndexCheckpoint).
        guard count >= 0, count <= fileSize - consumed else { throw Truncated() }
        let rest = Array(buffer[index...])
        buffer = rest
        index = 0
        var chunk = [UInt8](repeating: 0, count: Swift.max(1 << 20, count))
        while buffer.count < count {
            let n = try chunk.withUnsafeMutableBytes { try readSome($0) }
            if n == 0 { throw Truncated() }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    func bytes(_ count: Int) throws -> [UInt8] {
        try fill(count)
        let out = Array(buffer[index..<index + count])
        out.withUnsafeBytes { crc = CRC32C.checksum($0, continuing: crc) }
        index += count
        consumed += count
        return out
    }

    private func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        try fill(size)
        let v = buffer.withUnsafeBytes { raw in
            crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[index..<index + size]), continuing: crc)
            return T(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: T.self))
        }
        index += size
        consumed += size
        return v
    }

    func u8() throws -> UInt8 { try integer(UInt8.self) }
    func u16() throws -> UInt16 { try integer(UInt16.self) }
    func u32() throws -> UInt32 { try integer(UInt32.self) }
    func u64() throws -> UInt64 { try integer(UInt64.self) }
    func i64() throws -> Int64 { try integer(Int64.self) }

    /// Reads `count` integers straight into a new array.
    func array<T: FixedWidthInteger>(_: T.Type, count: Int) throws -> [T] {
        guard count >= 0, count <= Swift.max(0, fileSize - consumed) / MemoryLayout<T>.stride else { throw Truncated() }
        let byteCount = count * MemoryLayout<T>.stride
        let fromBuffer = Swift.min(byteCount, buffer.count - index)
        return try [T](unsafeUninitializedCapacity: count) { out, initialized in
            let raw = UnsafeMutableRawBufferPointer(out)
            buffer.withUnsafeBytes { src in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[index..<index + fromBuffer]))
            }
            index += fromBuffer
            var done = fromBuffer
            while done < byteCount {
                let n = try readSome(UnsafeMutableRawBufferPointer(rebasing: raw[done..<byteCount]))
                if n == 0 { throw Truncated() }
                done += n
            }
            crc = CRC32C.checksum(UnsafeRawBufferPointer(raw), continuing: crc)
            consumed += byteCount
            initialized = count
        }
    }

    /// Reads the trailing CRC and checks it, and that nothing follows.
    func finishVerifyingChecksum() throws -> Bool {
        let expected = crc
        try fill(4)
        let stored = buffer.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: index, as: UInt32.self)) }
        index += 4
        return stored == expected
    }
}
