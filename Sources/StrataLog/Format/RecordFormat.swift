/// The constants of the record format, shared by `RecordEncoder` and `RecordDecoder`.
///
/// docs/FORMAT.md is the specification; this file is its table of numbers. A record is an
/// 8-byte frame (body length, body CRC32C) followed by a body of fixed fields and variable bytes:
///
///     0   u32 body length L        8  u8 kind            16 u64 position    56 u32 metadata length
///     4   u32 CRC32C of the body   9  u8 flags           24 u64 revision    60 u32 data length
///                                  10 u16 stream length  32 i64 recorded at 64 stream, type,
///                                  12 u8 type length     40 16-byte id         content type,
///                                  13 u8 content-type length                   metadata, data
///                                  14 u16 reserved (0)
enum RecordFormat {
    /// The format version written in every segment header; readers refuse any other.
    static let version: UInt32 = 1

    /// Bytes before the body: the body length and the body's CRC32C.
    static let frameSize = 8
    /// Fixed-size part of the body (offsets 8..<64 of the record).
    static let fixedBodySize = 56
    /// Bytes of a record with empty variable fields: frame plus fixed body.
    static let fixedRecordSize = frameSize + fixedBodySize
    /// The largest body length L a decoder accepts (64 MiB of payload plus room for the rest).
    static let maxRecordSize = 64 << 20 + 64 << 10
    /// The longest stream name the format can carry (the engine allows fewer).
    static let maxStreamLength = Int(UInt16.max)
    /// The longest event type and content type the format can carry.
    static let maxTypeLength = Int(UInt8.max)

    // Field offsets from the start of the record.
    static let bodyLengthOffset = 0
    static let checksumOffset = 4
    static let kindOffset = 8
    static let flagsOffset = 9
    static let streamLengthOffset = 10
    static let typeLengthOffset = 12
    static let contentTypeLengthOffset = 13
    static let reservedOffset = 14
    static let positionOffset = 16
    static let revisionOffset = 24
    static let recordedAtOffset = 32
    static let idOffset = 40
    static let metadataLengthOffset = 56
    static let dataLengthOffset = 60
    static let variableOffset = 64
}

/// What a record says: an event or a change to a stream.
enum RecordKind: UInt8, Sendable, CaseIterable {
    /// An event appended to a stream; has a position ≥ 1 and the event's revision.
    case event = 1
    /// New metadata for a stream (in the data bytes); position 0.
    case streamMetadata = 2
    /// The stream was soft-deleted (it may be written again); position 0.
    case streamSoftDelete = 3
    /// The stream was deleted for good; position 0.
    case streamTombstone = 4
    /// The stream's revisions reached at least this record's revision; position 0. Retention
    /// writes it (with the other stream state) before dropping the segments that held the
    /// stream's events, so that revisions are never reused after a rebuild from the log.
    case streamRevision = 5

    /// Whether records of this kind carry a global position (only events do).
    var hasPosition: Bool { self == .event }
}

/// The flag bits of a record; version 1 defines bit 0 only, the rest must be zero.
struct RecordFlags: OptionSet, Sendable, Hashable {
    let rawValue: UInt8

    /// The last record of an atomic append: a transaction is the records up to and including it.
    static let commit = RecordFlags(rawValue: 1 << 0)

    /// Every bit version 1 defines.
    static let known: RecordFlags = [.commit]
}
