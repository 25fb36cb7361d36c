import Foundation

/// Per-stream settings honoured by stream reads.
public struct StreamMetadata: Sendable, Hashable, Codable {
    /// Keep only the newest `maxCount` events visible.
    public var maxCount: Int?
    /// Hide events older than this many seconds.
    public var maxAge: Double?
    /// Hide events whose revision is lower than this.
    public var truncateBefore: UInt64?
    /// Application-defined settings: the bytes of a JSON object.
    public var custom: Data?

    /// Creates stream metadata; every setting is optional.
    public init(maxCount: Int? = nil, maxAge: Double? = nil, truncateBefore: UInt64? = nil, custom: Data? = nil) {
        self.maxCount = maxCount
        self.maxAge = maxAge
        self.truncateBefore = truncateBefore
        self.custom = custom
    }

    /// Whether no setting is present.
    public var isEmpty: Bool { maxCount == nil && maxAge == nil && truncateBefore == nil && custom == nil }
}

/// How to delete a stream.
public enum DeleteMode: Sendable, Hashable {
    /// Reads say the stream is not found; appending again recreates it, with revisions continuing.
    case soft
    /// Hard delete: the stream can never be written again.
    case tombstone
}

/// What the store knows of one stream.
public struct StreamInfo: Sendable, Hashable {
    /// The stream's name.
    public let stream: String
    /// Whether the stream exists: written to, and neither soft-deleted since nor tombstoned.
    public let exists: Bool
    /// The last revision ever written (0 if never written). Revisions are never reused.
    public let lastRevision: UInt64
    /// The number of events a read of the stream returns now.
    public let eventCount: Int
    /// Whether the stream was soft-deleted and nothing was appended since.
    public let isDeleted: Bool
    /// Whether the stream was tombstoned (hard-deleted).
    public let isTombstoned: Bool
    /// The stream's metadata.
    public let metadata: StreamMetadata

    /// Creates stream info.
    public init(stream: String, exists: Bool, lastRevision: UInt64, eventCount: Int, isDeleted: Bool,
                isTombstoned: Bool, metadata: StreamMetadata) {
        self.stream = stream
        self.exists = exists
        self.lastRevision = lastRevision
        self.eventCount = eventCount
        self.isDeleted = isDeleted
        self.isTombstoned = isTombstoned
        self.metadata = metadata
    }
}

extension StreamInfo {
    /// What a store reports for a stream it knows nothing of.
    public static func unknown(_ stream: String) -> StreamInfo {
        StreamInfo(stream: stream, exists: false, lastRevision: 0, eventCount: 0, isDeleted: false, isTombstoned: false,
                   metadata: StreamMetadata())
    }

    /// Stream info from a stream's stored state; whether it exists or is deleted follows from it.
    /// - Parameters:
    ///   - stream: the stream's name.
    ///   - lastRevision: the last revision ever written (0 if never written).
    ///   - deletedThrough: revisions up to this one were soft-deleted (0 when never).
    ///   - isTombstoned: whether the stream was tombstoned.
    ///   - metadata: the stream's metadata.
    ///   - eventCount: the number of events a read of the stream returns now.
    public init(stream: String, lastRevision: UInt64, deletedThrough: UInt64, isTombstoned: Bool, metadata: StreamMetadata,
                eventCount: Int) {
        let exists = !isTombstoned && lastRevision > deletedThrough
        self.init(stream: stream, exists: exists, lastRevision: lastRevision, eventCount: eventCount,
                  isDeleted: !exists && !isTombstoned && lastRevision > 0, isTombstoned: isTombstoned, metadata: metadata)
    }
}

/// Store-wide figures.
public struct StoreStats: Sendable, Hashable {
    /// The position of the last event (0 when empty).
    public let headPosition: UInt64
    /// The first position still stored (retention may have dropped older ones); 1 when nothing was dropped.
    public let firstPosition: UInt64
    /// Number of streams the store knows: ever written to, or given metadata or a tombstone.
    public let streamCount: Int
    /// Bytes used on disk (0 for memory stores).
    public let bytesOnDisk: Int64
    /// Backend-specific figures, for display.
    public let details: [String: String]

    /// Creates store stats.
    public init(headPosition: UInt64, firstPosition: UInt64, streamCount: Int, bytesOnDisk: Int64, details: [String: String] = [:]) {
        self.headPosition = headPosition
        self.firstPosition = firstPosition
        self.streamCount = streamCount
        self.bytesOnDisk = bytesOnDisk
        self.details = details
    }
}
