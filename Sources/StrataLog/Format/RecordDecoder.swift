import Foundation

/// One decoded record: its fixed fields, and its byte fields as views into the decoded buffer.
///
/// Copies nothing; valid only while the buffer it was decoded from is (a segment mapping lives
/// until `SegmentFile.close()`).
struct RecordView {
    /// The buffer the record was decoded from; every offset below is relative to its start.
    let buffer: UnsafeRawBufferPointer
    /// Where the record starts (its body-length field).
    let offset: Int
    /// The body length L.
    let bodyLength: Int
    let kind: RecordKind
    let flags: RecordFlags
    let position: UInt64
    let revision: UInt64
    let recordedAtMicros: Int64
    let streamLength: Int
    let typeLength: Int
    let contentTypeLength: Int
    let metadataLength: Int
    let dataLength: Int

    /// Bytes the record occupies: 8 + L.
    var totalSize: Int { RecordFormat.frameSize + bodyLength }
    /// The offset just after the record, where the next one starts.
    var end: Int { offset + totalSize }
    var isCommit: Bool { flags.contains(.commit) }
    var id: UUID {
        UUID(uuid: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.idOffset, as: uuid_t.self))
    }

    var streamRange: Range<Int> {
        let start = offset + RecordFormat.variableOffset
        return start..<start + streamLength
    }
    var typeRange: Range<Int> { streamRange.upperBound..<streamRange.upperBound + typeLength }
    var contentTypeRange: Range<Int> { typeRange.upperBound..<typeRange.upperBound + contentTypeLength }
    var metadataRange: Range<Int> { contentTypeRange.upperBound..<contentTypeRange.upperBound + metadataLength }
    var dataRange: Range<Int> { end - dataLength..<end }

    var stream: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[streamRange]) }
    var type: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[typeRange]) }
    var contentType: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[contentTypeRange]) }
    var metadata: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[metadataRange]) }
    var data: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[dataRange]) }

    /// The stream name, decoded from UTF-8 (a copy).
    var streamName: String { String(decoding: stream, as: UTF8.self) }
    /// The event type, decoded from UTF-8 (a copy).
    var typeName: String { String(decoding: type, as: UTF8.self) }
    /// The content type as stored; empty means application/json.
    var contentTypeName: String { String(decoding: contentType, as: UTF8.self) }
}

/// What `RecordDecoder.decode` found at an offset.
enum RecordDecodeResult {
    /// A well-formed record.
    case record(RecordView)
    /// No more records: a zero body length with a zero checksum (or only zero bytes left).
    case end
    /// Not a record: a bad length, a checksum mismatch, a truncated record or a field breaking
    /// the format. `offset` is where the record starts.
    case invalid(offset: Int, reason: String)
}

/// Reads records in the layout of docs/FORMAT.md ("Record"), and scans runs of them.
enum RecordDecoder {
    /// Decodes the record at `offset`, checking its CRC32C and every structural rule.
    /// The record must end within `buffer`.
    static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> RecordDecodeResult {
        decode(buffer, at: offset, verifyCRC: true)
    }

    /// `decode` without the checksum: only for regions already verified since they were written,
    /// such as re-reading records the engine indexed on open.
    static func decodeUnchecked(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> RecordDecodeResult {
        decode(buffer, at: offset, verifyCRC: false)
    }

    @inline(__always)
    static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int, verifyCRC: Bool) -> RecordDecodeResult {
        precondition(offset >= 0, "negative record offset \(offset)")
        if offset > buffer.count {
            return .invalid(offset: offset, reason: "offset past the readable end (\(buffer.count) bytes)")
        }
        let available = buffer.count - offset
        if available < RecordFormat.frameSize {
            if isZero(buffer, offset..<buffer.count) { return .end }
            return .invalid(offset: offset, reason: "truncated record frame: \(available) of 8 bytes before the end")
        }
        let bodyLength = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let storedCRC = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.checksumOffset, as: UInt32.self))
        if bodyLength == 0 {
            if storedCRC == 0 { return .end }
            return .invalid(offset: offset, reason: "zero body length with a nonzero checksum")
        }
        if bodyLength < RecordFormat.fixedBodySize {
            return .invalid(offset: offset, reason: "body length \(bodyLength) is below the minimum of \(RecordFormat.fixedBodySize)")
        }
        if bodyLength > RecordFormat.maxRecordSize {
            return .invalid(offset: offset, reason: "body length \(bodyLength) exceeds the maximum of \(RecordFormat.maxRecordSize)")
        }
        if bodyLength > available - RecordFormat.frameSize {
            return .invalid(
                offset: offset,
                reason: "truncated record: body length \(bodyLength) runs past the readable end (\(available - RecordFormat.frameSize) bytes left)"
            )
        }
        if verifyCRC {
            let body = UnsafeRawBufferPointer(rebasing: buffer[(offset + RecordFormat.frameSize)..<(offset + RecordFormat.frameSize + bodyLength)])
            let actual = CRC32C.checksum(body)
            if actual != storedCRC {
                return .invalid(offset: offset, reason: "checksum mismatch: stored \(hex(storedCRC)), computed \(hex(actual))")
            }
        }

        let rawKind = buffer[offset + RecordFormat.kindOffset]
        guard let kind = RecordKind(rawValue: rawKind) else {
            return .invalid(offset: offset, reason: "unknown record kind \(rawKind)")
        }
        let flags = RecordFlags(rawValue: buffer[offset + RecordFormat.flagsOffset])
        if !flags.isSubset(of: .known) {
            return .invalid(offset: offset, reason: "unknown flag bits \(hex(UInt32(flags.rawValue)))")
        }
        let reserved = buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.reservedOffset, as: UInt16.self)
        if reserved != 0 {
            return .invalid(offset: offset, reason: "reserved bytes 14..<16 are not zero")
        }
        let streamLength = Int(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.streamLengthOffset, as: UInt16.self)))
        let typeLength = Int(buffer[offset + RecordFormat.typeLengthOffset])
        let contentTypeLength = Int(buffer[offset + RecordFormat.contentTypeLengthOffset])
        let metadataLength = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.metadataLengthOffset, as: UInt32.self)))
        let dataLength = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.dataLengthOffset, as: UInt32.self)))
        if streamLength == 0 {
            return .invalid(offset: offset, reason: "empty stream name")
        }
        let expected = RecordFormat.fixedBodySize + streamLength + typeLength + contentTypeLength + metadataLength + dataLength
        if expected != bodyLength {
            return .invalid(offset: offset, reason: "field lengths add up to \(expected) bytes, body length says \(bodyLength)")
        }
        let position = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.positionOffset, as: UInt64.self))
        if kind.hasPosition ? position == 0 : position != 0 {
            return .invalid(offset: offset, reason: "\(kind) record with position \(position)")
        }
        return .record(RecordView(
            buffer: buffer,
            offset: offset,
            bodyLength: bodyLength,
            kind: kind,
            flags: flags,
            position: position,
            revision: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.revisionOffset, as: UInt64.self)),
            recordedAtMicros: Int64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + RecordFormat.recordedAtOffset, as: Int64.self)),
            streamLength: streamLength,
            typeLength: typeLength,
            contentTypeLength: contentTypeLength,
            metadataLength: metadataLength,
            dataLength: dataLength
        ))
    }

    private static func hex(_ value: UInt32) -> String {
        "0x" + String(value, radix: 16, uppercase: true)
    }

    /// A CRC32C as 8 lowercase hex digits (the backup manifest's form).
    static func hex8(_ value: UInt32) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 8 - text.count) + text
    }

    private static func isZero(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        nonzeroEnd(in: buffer, range: range) == range.lowerBound
    }

    /// The offset just after the last nonzero byte in `range` of `buffer`, or `range.lowerBound`
    /// when every byte there is zero. Reads backwards a word at a time.
    static func nonzeroEnd(in buffer: UnsafeRawBufferPointer, range: Range<Int>) -> Int {
        precondition(range.lowerBound >= 0 && range.upperBound <= buffer.count)
        var end = range.upperBound
        // Single bytes down to an 8-byte boundary of the address, then words.
        while end > range.lowerBound, (Int(bitPattern: buffer.baseAddress!) &+ end) & 7 != 0 {
            if buffer[end - 1] != 0 { return end }
            end -= 1
        }
        while end - range.lowerBound >= 64 {
            let p = buffer.baseAddress! + end - 64
            var any: UInt64 = 0
            for k in 0..<8 { any |= p.load(fromByteOffset: k * 8, as: UInt64.self) }
            if any != 0 { break }
            end -= 64
        }
        while end > range.lowerBound {
            if buffer[end - 1] != 0 { return end }
            end -= 1
        }
        return end
    }
}

// MARK: - Scanning

/// What `RecordDecoder.scan` found; docs/FORMAT.md ("Recovery") says what each case means.
struct ScanOutcome: Equatable, Sendable {
    /// Why the scan stopped.
    enum Stop: Equatable, Sendable {
        /// Reached the scan's limit exactly at a record boundary.
        case limit
        /// An end marker (eight zero bytes, or only zeros up to the limit) at `offset`.
        case end(offset: Int)
        /// Not a record at `offset`; see `RecordDecodeResult.invalid`.
        case invalid(offset: Int, reason: String)
    }

    var stop: Stop
    /// The offset just after the last commit record (the scan's start when there is none):
    /// everything before it is complete transactions.
    var committedEnd: Int
    /// The largest event position in a committed transaction of the scanned range; 0 if none.
    var lastCommittedPosition: UInt64
    /// Records in committed transactions (the records `visit` received).
    var committedRecords: Int
    /// The offset just after the last well-formed record, committed or not (≥ `committedEnd`).
    var recordsEnd: Int
    /// Whether a nonzero byte lies after the stop point — after the end marker or after the
    /// invalid record's extent — anywhere up to the end of the buffer. False when the scan
    /// stopped at its limit or ran with `inspectTail: false`.
    var nonzeroBytesAfterStop: Bool

    /// Where the scan stopped: the limit, the end marker or the invalid record.
    var stopOffset: Int {
        switch stop {
        case .limit: return recordsEnd
        case let .end(offset), let .invalid(offset, _): return offset
        }
    }

    /// Whether well-formed records follow the last commit record (an unfinished transaction).
    var hasUncommittedRecords: Bool { recordsEnd > committedEnd }

    /// The corruption these findings amount to, by the rules of docs/FORMAT.md ("Recovery"),
    /// or nil when the segment is intact or only has a torn tail to cut.
    /// `sealed` is true for every segment but the last one.
    func corruption(path: String, sealed: Bool) -> FileError? {
        switch stop {
        case let .invalid(offset, reason):
            if nonzeroBytesAfterStop {
                return .corrupt(path: path, offset: offset, reason: "\(reason); nonzero bytes follow, so this is not a torn tail")
            }
            if sealed {
                return .corrupt(path: path, offset: offset, reason: "\(reason) in a sealed segment")
            }
        case let .end(offset):
            if nonzeroBytesAfterStop {
                return .corrupt(path: path, offset: offset, reason: "end marker followed by nonzero bytes")
            }
        case .limit:
            break
        }
        if sealed && hasUncommittedRecords {
            return .corrupt(path: path, offset: committedEnd, reason: "records without a commit record at the end of a sealed segment")
        }
        return nil
    }
}

extension RecordDecoder {
    /// Decodes the records from `start` up to `limit` and hands every record of a committed
    /// transaction to `visit`, in order, once its commit record has been read. Records after the
    /// last commit record are counted in `recordsEnd` but not visited.
    ///
    /// - Parameters:
    ///   - verifyCRC: false only for regions verified before (see `decodeUnchecked`).
    ///   - inspectTail: look for nonzero bytes after the stop point, up to `buffer.count`. Costs a
    ///     read of the rest of the buffer; readers following a live segment pass false.
    static func scan(
        _ buffer: UnsafeRawBufferPointer,
        from start: Int,
        until limit: Int? = nil,
        verifyCRC: Bool = true,
        inspectTail: Bool = true,
        visit: (RecordView) throws -> Void
    ) rethrows -> ScanOutcome {
        let limit = Swift.min(limit ?? buffer.count, buffer.count)
        precondition(start >= 0 && start <= limit, "scan start \(start) outside 0...\(limit)")
        let readable = UnsafeRawBufferPointer(rebasing: buffer[0..<limit])

        var offset = start
        var outcome = ScanOutcome(
            stop: .limit, committedEnd: start, lastCommittedPosition: 0, committedRecords: 0,
            recordsEnd: start, nonzeroBytesAfterStop: false
        )
        var pending: [RecordView] = []
        var pendingLastPosition: UInt64 = 0

        while offset < limit {
            switch decode(readable, at: offset, verifyCRC: verifyCRC) {
            case let .record(record):
                // Views point into `readable`, which shares its base with `buffer`.
                if record.position > pendingLastPosition { pendingLastPosition = record.position }
                if record.isCommit {
                    for earlier in pending { try visit(earlier) }
                    try visit(record)
                    outcome.committedRecords += pending.count + 1
                    pending.removeAll(keepingCapacity: true)
                    outcome.committedEnd = record.end
                    if pendingLastPosition > outcome.lastCommittedPosition {
                        outcome.lastCommittedPosition = pendingLastPosition
                    }
                    pendingLastPosition = 0
                } else {
                    pending.append(record)
                }
                outcome.recordsEnd = record.end
                offset = record.end
            case .end:
                outcome.stop = .end(offset: offset)
                if inspectTail {
                    let after = Swift.min(offset + RecordFormat.frameSize, buffer.count)
                    outcome.nonzeroBytesAfterStop = nonzeroEnd(in: buffer, range: after..<buffer.count) > after
                }
                return outcome
            case let .invalid(at, reason):
                outcome.stop = .invalid(offset: at, reason: reason)
                if inspectTail {
                    let after = invalidExtentEnd(buffer, at: at)
                    outcome.nonzeroBytesAfterStop = nonzeroEnd(in: buffer, range: after..<buffer.count) > after
                }
                return outcome
            }
        }
        return outcome
    }

    /// Where the bytes of an invalid record at `offset` plausibly end: its declared extent when
    /// the body length is within bounds (clamped to the buffer), else just its 8-byte frame.
    private static func invalidExtentEnd(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> Int {
        guard buffer.count - offset >= RecordFormat.frameSize else { return buffer.count }
        let bodyLength = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        if bodyLength >= RecordFormat.fixedBodySize && bodyLength <= RecordFormat.maxRecordSize {
            return Swift.min(offset + RecordFormat.frameSize + bodyLength, buffer.count)
        }
        return offset + RecordFormat.frameSize
    }
}

extension RecordDecoder {
    /// Whether damage at `offset` in the newest segment, followed by well-formed records, is a
    /// torn last write rather than damage to records already synced (docs/FORMAT.md, "Recovery").
    ///
    /// A power loss during the write of a batch may keep some of its 512-byte sectors and lose
    /// others; lost sectors of a preallocated segment read as zeros. So the damage is a torn
    /// last write when every well-formed record after it carries one recorded time (the writer
    /// stamps every record of a batch with the same time) and the damaged range before the
    /// first of them holds a run of at least 64 zero bytes (a lost sector). Anything else
    /// (records of several batches after the damage, or damage without lost bytes) is refused.
    static func isTornLastWrite(_ buffer: UnsafeRawBufferPointer, damagedFrom offset: Int) -> Bool {
        var at = offset + 1
        var firstIntact: Int?
        var batchTime: Int64?
        let limit = buffer.count - RecordFormat.fixedRecordSize
        while at <= limit {
            let length = Int(buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            if length >= RecordFormat.fixedBodySize && at + RecordFormat.frameSize + length <= buffer.count,
               case .record(let view) = decode(buffer, at: at) {
                if firstIntact == nil { firstIntact = at }
                if let batchTime, batchTime != view.recordedAtMicros { return false }
                batchTime = view.recordedAtMicros
                at += RecordFormat.frameSize + length
                continue
            }
            at += 1
        }
        guard let firstIntact else { return true }
        var run = 0
        for i in offset..<firstIntact {
            if buffer[i] == 0 {
                run += 1
                if run >= 64 { return true }
            } else {
                run = 0
            }
        }
        return false
    }
}
