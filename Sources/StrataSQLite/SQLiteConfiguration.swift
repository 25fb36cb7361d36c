import Strata

/// How the SQLite backend uses its database file. A value type with sensible defaults, passed once.
///
/// ```swift
/// let store = try SQLiteEventStore(path: "./events.db",
///                                  configuration: SQLiteConfiguration(synchronous: .full))
/// ```
public struct SQLiteConfiguration: Sendable, Hashable {
    /// SQLite's `PRAGMA synchronous` in WAL mode: when commits reach the disk.
    public enum Synchronous: String, Sendable, Hashable {
        /// No syncs at all. A crash of the process loses nothing; a crash of the machine or a
        /// power loss may lose recent commits or damage the file. For benchmarks and throw-away data.
        case off
        /// The default: the WAL is synced at each checkpoint, not at each commit. A crash of the
        /// process loses nothing; a power loss may lose the last commits, never the file's consistency.
        case normal
        /// Every commit syncs the WAL before the append returns (one `fsync` per group-commit batch).
        case full

        var pragma: String { rawValue.uppercased() }
    }

    /// When commits reach the disk. Default ``Synchronous/normal``.
    public var synchronous: Synchronous
    /// How long a writer waits for another connection or process holding the write lock before
    /// the append fails with ``StrataError/io(path:operation:reason:)`` (milliseconds). Default 5,000.
    public var busyTimeoutMilliseconds: Int
    /// How often a waiting subscription checks whether another process appended
    /// (`PRAGMA data_version`), in milliseconds. Appends by this process wake it at once. Default 5.
    public var pollIntervalMilliseconds: Int
    /// SQLite's page cache per connection, in KiB. Default 32,768 (32 MiB).
    public var cacheKiB: Int
    /// The most events one group-commit transaction takes from the queue (one atomic append may exceed it).
    public var maxBatchEvents: Int
    /// Per-event limits.
    public var limits: EventLimits

    /// Creates a configuration.
    public init(synchronous: Synchronous = .normal, busyTimeoutMilliseconds: Int = 5_000, pollIntervalMilliseconds: Int = 5,
                cacheKiB: Int = 32_768, maxBatchEvents: Int = 20_000, limits: EventLimits = .default) {
        self.synchronous = synchronous
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.pollIntervalMilliseconds = pollIntervalMilliseconds
        self.cacheKiB = cacheKiB
        self.maxBatchEvents = maxBatchEvents
        self.limits = limits
    }

    /// Checks the settings.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for a value out of range.
    func validate() throws {
        if busyTimeoutMilliseconds < 0 { throw StrataError.invalidArgument("busyTimeoutMilliseconds must not be negative") }
        if pollIntervalMilliseconds < 1 || pollIntervalMilliseconds > 10_000 {
            throw StrataError.invalidArgument("pollIntervalMilliseconds must be between 1 and 10000")
        }
        if cacheKiB < 0 { throw StrataError.invalidArgument("cacheKiB must not be negative") }
        if maxBatchEvents < 1 { throw StrataError.invalidArgument("maxBatchEvents must be at least 1") }
        if limits.maxEventSize < 1 || limits.maxEventSize > 512 << 20 {
            throw StrataError.invalidArgument("limits.maxEventSize must be between 1 byte and 512 MiB (SQLite's default BLOB limit is 1 GB)")
        }
    }
}
