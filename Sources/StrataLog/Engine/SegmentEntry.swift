import Foundation
import Strata
import StrataStorage
import Synchronization

/// One segment as the index knows it: its bytes (a mapping of the file, or the decompressed
/// contents of a `.seg.gz`), the offset of every event it holds, and where its records end.
final class SegmentEntry: @unchecked Sendable {
    // Safe to share: `mapped` is immutable for the entry's life (the mapping covers the whole
    // preallocated file and is never remapped); the decompressed bytes of a `.seg.gz` are
    // created once under `decompressed`'s lock and then never change; `offsets`, `end`,
    // `lastRecordedAt` and `lastRecordCRC` are read and written only under the index lock.
    let firstPosition: UInt64
    let path: String
    /// How many times a scavenge rewrote the segment (docs/FORMAT.md, "Scavenging").
    let generation: Int
    /// When the segment was created (from its header); nil for a compressed segment not read yet.
    let createdAtMicros: Int64?
    /// The open file, for the segment being written and uncompressed sealed ones.
    let file: SegmentFile?
    private let mapped: UnsafeRawBufferPointer?
    private let decompressed = Mutex<UnsafeMutableRawBufferPointer?>(nil)
    /// File offset of each event, by `position - firstPosition`; 0 for a position a scavenge
    /// removed (records start at offset 64 or later, so 0 is never a record's offset). Empty once
    /// the segment's index file holds them (`table`).
    var offsets: [UInt32] = []
    /// The sealed segment's index file, once it is built and installed (docs/ENGINE.md, "Indexes").
    var table: SegmentIndexFile?
    /// Offset just past the last committed record.
    var end: Int = SegmentHeader.size
    /// The newest event's recorded time (0 when it has none).
    var lastRecordedAt: Int64 = 0
    /// The CRC field of the last committed record, when known (for the index checkpoint).
    var lastRecordCRC: UInt32?
    /// Whether the file is gzip-compressed.
    var compressed: Bool { mapped == nil }

    /// Where a compressed segment is read from.
    private let fileSystem: (any FileSystem)?

    init(file: SegmentFile, generation: Int = 0) throws {
        self.file = file
        self.generation = generation
        self.fileSystem = nil
        self.firstPosition = file.firstPosition
        self.path = file.path
        self.createdAtMicros = file.createdAtMicros
        self.mapped = try StrataErrorBridge.run { try file.mappedBytes() }
    }

    /// A compressed segment; its contents are decompressed on first access.
    init(compressedPath: String, firstPosition: UInt64, generation: Int = 0, fileSystem: any FileSystem) {
        self.file = nil
        self.generation = generation
        self.fileSystem = fileSystem
        self.path = compressedPath
        self.firstPosition = firstPosition
        self.createdAtMicros = nil
        self.mapped = nil
    }

    deinit {
        decompressed.withLock { $0?.deallocate() }
        file?.close()
    }

    /// Every readable byte of the segment: its mapping, or its decompressed contents.
    var bytes: UnsafeRawBufferPointer {
        get throws {
            if let mapped { return mapped }
            return try decompressed.withLock { storage -> UnsafeRawBufferPointer in
                if let storage { return UnsafeRawBufferPointer(storage) }
                let contents = try StrataErrorBridge.run { try SegmentCompression.decompress(path: path, fileSystem: fileSystem ?? POSIXFileSystem()) }
                guard contents.count >= SegmentHeader.size else {
                    throw StrataError.corruption(path: path, offset: 0, reason: "decompressed segment shorter than its header")
                }
                let header = try StrataErrorBridge.run {
                    try contents.withUnsafeBytes { try SegmentHeader(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<SegmentHeader.size]), path: path) }
                }
                guard header.firstPosition == firstPosition else {
                    throw StrataError.corruption(path: path, offset: 16, reason: "header says first position \(header.firstPosition), the file name says \(firstPosition)")
                }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 16)
                contents.withUnsafeBytes { buffer.copyMemory(from: $0) }
                storage = buffer
                return UnsafeRawBufferPointer(buffer)
            }
        }
    }

    /// Positions stored here: `firstPosition ..< firstPosition + eventCount`.
    var eventCount: Int { table?.slotCount ?? offsets.count }
    var lastPosition: UInt64 { firstPosition + UInt64(eventCount) - 1 }

    /// The record offset of position `firstPosition + i` (0: removed by a scavenge).
    @inline(__always) func offset(at i: Int) -> UInt32 {
        if let table { return table.offset(at: i) }
        return offsets[i]
    }

    /// The record offsets of positions `firstPosition + range`, copied.
    func offsets(_ range: ClosedRange<Int>) -> [UInt32] {
        guard let table else { return Array(offsets[range]) }
        return range.map { table.offset(at: $0) }
    }

    /// The offset of the last stored event, or nil.
    var lastEventOffset: UInt32? {
        if let table { return table.lastEventOffset }
        return offsets.last(where: { $0 != 0 })
    }

    /// The decoded record at an event offset, CRC-checked.
    func record(at offset: Int) throws -> RecordView {
        switch RecordDecoder.decode(try bytes, at: offset) {
        case .record(let view): return view
        case .end: throw StrataError.corruption(path: path, offset: Int64(offset), reason: "expected a record, found the end marker")
        case .invalid(let at, let reason): throw StrataError.corruption(path: path, offset: Int64(at), reason: reason)
        }
    }
}

extension RecordView {
    /// Whether the record's stream is `name` (compared as UTF-8 bytes, without a String).
    func hasStreamName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            utf8.count == streamLength && memcmp(utf8.baseAddress!, stream.baseAddress!, streamLength) == 0
        }
    }

    /// The event this record holds, copied out of the segment's bytes.
    func recordedEvent() -> RecordedEvent {
        RecordedEvent(id: id, stream: streamName, revision: revision, position: position,
                      recordedAtMicroseconds: recordedAtMicros, type: typeName,
                      contentType: contentTypeLength == 0 ? .json : ContentType(contentTypeName),
                      data: Data(data), metadata: metadataLength == 0 ? nil : Data(metadata))
    }
}
