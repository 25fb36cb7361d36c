import Foundation
import Strata

/// One segment as the index knows it: its bytes (a mapping of the file, or the decompressed
/// contents of a `.seg.gz`), the offset of every event it holds, and where its records end.
final class SegmentEntry: @unchecked Sendable {
    // Safe to share: `bytes` is immutable for the entry's life (the mapping covers the whole
    // preallocated file and is never remapped); `offsets`, `end` and `lastRecordedAt` are read
    // and written only under the index lock.
    let firstPosition: UInt64
    let path: String
    let createdAtMicros: Int64
    /// The open file, for the segment being written and uncompressed sealed ones.
    let file: SegmentFile?
    /// Every readable byte of the segment.
    let bytes: UnsafeRawBufferPointer
    private let owned: UnsafeMutableRawBufferPointer?
    /// File offset of each event, by `position - firstPosition`.
    var offsets: [UInt32] = []
    /// Offset just past the last committed record.
    var end: Int = SegmentHeader.size
    /// The newest event's recorded time (0 when it has none).
    var lastRecordedAt: Int64 = 0
    /// Whether the file is gzip-compressed.
    let compressed: Bool

    init(file: SegmentFile) throws {
        self.file = file
        self.firstPosition = file.firstPosition
        self.path = file.path
        self.createdAtMicros = file.createdAtMicros
        self.bytes = try StrataErrorBridge.run { try file.mappedBytes() }
        self.owned = nil
        self.compressed = false
    }

    init(compressedPath: String) throws {
        let contents = try StrataErrorBridge.run { try SegmentCompression.decompress(path: compressedPath) }
        guard contents.count >= SegmentHeader.size else {
            throw StrataError.corruption(path: compressedPath, offset: 0, reason: "decompressed segment shorter than its header")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 16)
        contents.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let header = try StrataErrorBridge.run {
            try SegmentHeader(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<SegmentHeader.size]),
                              path: compressedPath)
        }
        self.file = nil
        self.path = compressedPath
        self.firstPosition = header.firstPosition
        self.createdAtMicros = header.createdAtMicros
        self.bytes = UnsafeRawBufferPointer(buffer)
        self.owned = buffer
        self.compressed = true
    }

    deinit {
        owned?.deallocate()
        file?.close()
    }

    /// Positions stored here: `firstPosition ..< firstPosition + offsets.count`.
    var eventCount: Int { offsets.count }
    var lastPosition: UInt64 { firstPosition + UInt64(offsets.count) - 1 }

    /// The decoded record at an event offset, CRC-checked.
    func record(at offset: Int) throws -> RecordView {
        switch RecordDecoder.decode(bytes, at: offset) {
        case .record(let view): return view
        case .end: throw StrataError.corruption(path: path, offset: Int64(offset), reason: "expected a record, found the end marker")
        case .invalid(let at, let reason): throw StrataError.corruption(path: path, offset: Int64(at), reason: reason)
        }
    }
}

extension RecordView {
    /// The event this record holds, copied out of the segment's bytes.
    func recordedEvent() -> RecordedEvent {
        RecordedEvent(id: id, stream: streamName, revision: revision, position: position,
                      recordedAtMicroseconds: recordedAtMicros, type: typeName,
                      contentType: contentTypeLength == 0 ? .json : ContentType(contentTypeName),
                      data: Data(data), metadata: metadataLength == 0 ? nil : Data(metadata))
    }
}
