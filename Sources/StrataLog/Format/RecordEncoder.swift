import Foundation

/// The content of one record, borrowed: the five byte fields point at the caller's storage,
/// so encoding copies each byte once, into the output buffer.
///
/// Build one inside `RecordFields.with(…)`, which lends `String`s, `[UInt8]` and `Data`
/// without copying them; the pointers are valid only inside that closure.
struct RecordFields {
    var kind: RecordKind
    var flags: RecordFlags
    /// Global position: ≥ 1 for events, 0 for the control kinds.
    var position: UInt64
    /// Events: 1-based revision in the stream. Control records: the stream's last revision.
    var revision: UInt64
    /// Microseconds since the Unix epoch, UTC.
    var recordedAtMicros: Int64
    var id: UUID
    /// UTF-8 stream name, 1…65,535 bytes.
    var stream: UnsafeRawBufferPointer
    /// UTF-8 event type, 0…255 bytes.
    var type: UnsafeRawBufferPointer
    /// UTF-8 content type, 0…255 bytes; empty means application/json.
    var contentType: UnsafeRawBufferPointer
    var metadata: UnsafeRawBufferPointer
    var data: UnsafeRawBufferPointer

    /// Whether this record ends its transaction (the commit flag).
    var isCommit: Bool {
        get { flags.contains(.commit) }
        set { if newValue { flags.insert(.commit) } else { flags.remove(.commit) } }
    }

    /// The body length L these fields encode to.
    var bodyLength: Int {
        RecordFormat.fixedBodySize + stream.count + type.count + contentType.count + metadata.count + data.count
    }

    /// Lends the bytes of the given values as a `RecordFields` to `body`, without copying them.
    @inline(__always)
    static func with<Metadata: ContiguousBytes, Payload: ContiguousBytes, Result>(
        kind: RecordKind,
        commit: Bool,
        position: UInt64,
        revision: UInt64,
        recordedAtMicros: Int64,
        id: UUID,
        stream: String,
        type: String,
        contentType: String = "",
        metadata: Metadata,
        data: Payload,
        _ body: (RecordFields) throws -> Result
    ) rethrows -> Result {
        var stream = stream
        var type = type
        var contentType = contentType
        return try stream.withUTF8 { streamBytes in
            try type.withUTF8 { typeBytes in
                try contentType.withUTF8 { contentTypeBytes in
                    try metadata.withUnsafeBytes { metadataBytes in
                        try data.withUnsafeBytes { dataBytes in
                            try body(RecordFields(
                                kind: kind,
                                flags: commit ? .commit : [],
                                position: position,
                                revision: revision,
                                recordedAtMicros: recordedAtMicros,
                                id: id,
                                stream: UnsafeRawBufferPointer(streamBytes),
                                type: UnsafeRawBufferPointer(typeBytes),
                                contentType: UnsafeRawBufferPointer(contentTypeBytes),
                                metadata: metadataBytes,
                                data: dataBytes
                            ))
                        }
                    }
                }
            }
        }
    }
}

/// Fields that do not fit the record format. The engine checks its own, tighter limits first.
enum RecordEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyStreamName
    case fieldTooLong(field: String, length: Int, limit: Int)
    case recordTooLarge(bodyLength: Int, limit: Int)

    var description: String {
        switch self {
        case .emptyStreamName:
            return "The stream name is empty; a record needs a stream name of 1 byte or more."
        case let .fieldTooLong(field, length, limit):
            return "The \(field) is \(length) bytes long; the record format allows \(limit) bytes at most."
        case let .recordTooLarge(bodyLength, limit):
            return "The record would be \(bodyLength) bytes long; the record format allows \(limit) bytes at most. "
                + "Store large payloads outside the event and keep a reference in it."
        }
    }
}

/// Writes records in the layout of docs/FORMAT.md ("Record"). The append path of the engine.
enum RecordEncoder {
    /// Bytes a record with fields of these lengths occupies: 8 + L.
    @inline(__always)
    static func encodedSize(
        streamLength: Int, typeLength: Int, contentTypeLength: Int, metadataLength: Int, dataLength: Int
    ) -> Int {
        RecordFormat.fixedRecordSize + streamLength + typeLength + contentTypeLength + metadataLength + dataLength
    }

    /// Bytes `fields` occupy once encoded: 8 + L.
    @inline(__always)
    static func encodedSize(_ fields: RecordFields) -> Int {
        RecordFormat.frameSize + fields.bodyLength
    }

    /// Checks that `fields` fit the format's field widths and size limit.
    static func validate(_ fields: RecordFields) throws(RecordEncodingError) {
        if fields.stream.isEmpty { throw .emptyStreamName }
        if fields.stream.count > RecordFormat.maxStreamLength {
            throw .fieldTooLong(field: "stream name", length: fields.stream.count, limit: RecordFormat.maxStreamLength)
        }
        if fields.type.count > RecordFormat.maxTypeLength {
            throw .fieldTooLong(field: "event type", length: fields.type.count, limit: RecordFormat.maxTypeLength)
        }
        if fields.contentType.count > RecordFormat.maxTypeLength {
            throw .fieldTooLong(field: "content type", length: fields.contentType.count, limit: RecordFormat.maxTypeLength)
        }
        let bodyLength = fields.bodyLength
        if bodyLength > RecordFormat.maxRecordSize {
            throw .recordTooLarge(bodyLength: bodyLength, limit: RecordFormat.maxRecordSize)
        }
    }

    /// Appends the encoded record (frame, body and checksum) to `buffer`.
    ///
    /// Grows `buffer` geometrically, so appending a batch record by record stays linear.
    static func append(_ fields: RecordFields, to buffer: inout [UInt8]) throws(RecordEncodingError) {
        try validate(fields)
        let size = encodedSize(fields)
        let start = buffer.count
        let end = start + size
        if buffer.capacity < end {
            buffer.reserveCapacity(Swift.max(end, buffer.capacity * 2))
        }
        buffer.append(contentsOf: repeatElement(0, count: size))
        _ = buffer.withUnsafeMutableBytes { raw in
            writeValidated(fields, to: UnsafeMutableRawBufferPointer(rebasing: raw[start..<end]))
        }
    }

    /// Encodes `fields` at the start of `destination`, which must hold `encodedSize(fields)` bytes;
    /// returns the bytes written.
    @discardableResult
    static func write(_ fields: RecordFields, to destination: UnsafeMutableRawBufferPointer) throws(RecordEncodingError) -> Int {
        try validate(fields)
        precondition(destination.count >= encodedSize(fields), "destination too small for the record")
        return writeValidated(fields, to: destination)
    }

    @inline(__always)
    private static func writeValidated(_ fields: RecordFields, to destination: UnsafeMutableRawBufferPointer) -> Int {
        // Position rules are the engine's invariants, not user input: a breach is a bug.
        precondition(
            fields.kind.hasPosition ? fields.position >= 1 : fields.position == 0,
            "\(fields.kind) record with position \(fields.position)"
        )
        precondition(fields.flags.isSubset(of: .known), "unknown record flags \(fields.flags.rawValue)")
        let bodyLength = fields.bodyLength
        let p = destination.baseAddress!

        p.storeBytes(of: UInt32(truncatingIfNeeded: bodyLength).littleEndian, toByteOffset: RecordFormat.bodyLengthOffset, as: UInt32.self)
        p.storeBytes(of: fields.kind.rawValue, toByteOffset: RecordFormat.kindOffset, as: UInt8.self)
        p.storeBytes(of: fields.flags.rawValue, toByteOffset: RecordFormat.flagsOffset, as: UInt8.self)
        p.storeBytes(of: UInt16(truncatingIfNeeded: fields.stream.count).littleEndian, toByteOffset: RecordFormat.streamLengthOffset, as: UInt16.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: fields.type.count), toByteOffset: RecordFormat.typeLengthOffset, as: UInt8.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: fields.contentType.count), toByteOffset: RecordFormat.contentTypeLengthOffset, as: UInt8.self)
        p.storeBytes(of: UInt16(0), toByteOffset: RecordFormat.reservedOffset, as: UInt16.self)
        p.storeBytes(of: fields.position.littleEndian, toByteOffset: RecordFormat.positionOffset, as: UInt64.self)
        p.storeBytes(of: fields.revision.littleEndian, toByteOffset: RecordFormat.revisionOffset, as: UInt64.self)
        p.storeBytes(of: fields.recordedAtMicros.littleEndian, toByteOffset: RecordFormat.recordedAtOffset, as: Int64.self)
        p.storeBytes(of: fields.id.uuid, toByteOffset: RecordFormat.idOffset, as: uuid_t.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: fields.metadata.count).littleEndian, toByteOffset: RecordFormat.metadataLengthOffset, as: UInt32.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: fields.data.count).littleEndian, toByteOffset: RecordFormat.dataLengthOffset, as: UInt32.self)

        var cursor = RecordFormat.variableOffset
        copy(fields.stream, to: p, at: &cursor)
        copy(fields.type, to: p, at: &cursor)
        copy(fields.contentType, to: p, at: &cursor)
        copy(fields.metadata, to: p, at: &cursor)
        copy(fields.data, to: p, at: &cursor)

        let body = UnsafeRawBufferPointer(start: p + RecordFormat.frameSize, count: bodyLength)
        p.storeBytes(of: CRC32C.checksum(body).littleEndian, toByteOffset: RecordFormat.checksumOffset, as: UInt32.self)
        return RecordFormat.frameSize + bodyLength
    }

    @inline(__always)
    private static func copy(_ field: UnsafeRawBufferPointer, to base: UnsafeMutableRawPointer, at cursor: inout Int) {
        guard let source = field.baseAddress, field.count > 0 else { return }
        (base + cursor).copyMemory(from: source, byteCount: field.count)
        cursor &+= field.count
    }
}
