import Strata

/// How the embedded log engine stores data. A value type with sensible defaults, passed once.
///
/// ```swift
/// let store = try LogEventStore(directory: "./data",
///                               configuration: LogConfiguration(durability: .interval(milliseconds: 5)))
/// ```
public struct LogConfiguration: Sendable, Hashable {
    /// When an append's bytes are forced to disk.
    public enum Durability: Sendable, Hashable {
        /// An append returns after its bytes are on disk (one `fdatasync` per group-commit batch). The default.
        case fsync
        /// Bytes are synced at most this many milliseconds after they are written; an append
        /// returns before. A crash of the machine may lose that window; a crash of the process loses nothing.
        case interval(milliseconds: Int)
        /// Never sync explicitly (the operating system writes back when it likes).
        case none
    }

    /// When an append's bytes reach the disk.
    public var durability: Durability
    /// The size at which a segment file is sealed and a new one started (bytes). A single
    /// append is never split across segments.
    public var segmentSize: Int
    /// Also start a new segment when the UTC day changes (eventlog's daily files).
    public var rollDaily: Bool
    /// Compress sealed segments with gzip in the background; they are read transparently.
    public var compressSealedSegments: Bool
    /// Drop whole sealed segments by age or total size.
    public var retention: LogRetention?
    /// Per-event limits.
    public var limits: EventLimits
    /// Open for reading only (docs/ENGINE.md, "Read-only opens"): the directory lock is never
    /// taken and no file is created, changed or removed, so a reader never waits for writers nor
    /// needs write permission. A torn tail is read up to its last commit instead of cut, other
    /// processes' appends are followed as usual, and every write (append, delete, metadata,
    /// scavenge, erase) fails with `StrataError.unsupported`. The directory must already be
    /// a store.
    public var readOnly: Bool

    /// Creates a configuration.
    public init(durability: Durability = .fsync, segmentSize: Int = 64 << 20, rollDaily: Bool = false,
                compressSealedSegments: Bool = false, retention: LogRetention? = nil, limits: EventLimits = .default,
                readOnly: Bool = false) {
        self.readOnly = readOnly
        self.durability = durability
        self.segmentSize = segmentSize
        self.rollDaily = rollDaily
        self.compressSealedSegments = compressSealedSegments
        self.retention = retention
        self.limits = limits
    }
}

/// Which sealed segments the engine may drop. The active segment is never dropped.
public struct LogRetention: Sendable, Hashable {
    /// Drop a sealed segment once its newest event is older than this many seconds.
    public var maxAge: Double?
    /// Drop the oldest sealed segments while the data directory's segments exceed this many bytes.
    public var maxBytes: Int64?

    /// Creates a retention policy.
    public init(maxAge: Double? = nil, maxBytes: Int64? = nil) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }
}
