import CoreMetrics
import Logging
import Strata
import StrataConsumers

/// How export files are compressed.
public enum ExportCompression: Sendable, Hashable {
    /// Plain `.jsonl` files.
    case none
    /// `.jsonl.gz` files (one gzip member each) at a zlib level, 1 (fastest) … 9 (smallest).
    case gzip(level: Int = 1)

    /// The file name extension: `.jsonl` or `.jsonl.gz`.
    public var fileExtension: String {
        switch self {
        case .none: ".jsonl"
        case .gzip: ".jsonl.gz"
        }
    }
}

/// The settings of a ``LakehouseExporter``, with defaults that suit a long-running exporter.
public struct ExportConfiguration: Sendable {
    /// The exporter's source name: the first part of every file name (`{source}_{firstPosition}`)
    /// and of its consumer name. Several exporters may share one lakehouse with distinct names.
    public var source: String
    /// Which events are exported (stream prefixes, event types); others are skipped.
    public var filter: EventFilter
    /// Plain or gzip files.
    public var compression: ExportCompression
    /// A file is finished once it holds this many bytes of lines (before compression).
    public var maxFileBytes: Int
    /// A file is finished once it holds this many events (`nil`: no count limit).
    public var maxFileEvents: Int?
    /// A file open this long is finished even without new events, so that readers see recent
    /// events within about this time.
    public var maxFileAge: Duration
    /// The most files open at once, each of one UTC hour (docs/LAKEHOUSE.md, "Open files"): events
    /// whose times interleave across up to this many hours still fill few files. When an event of
    /// another hour arrives and this many are open, the least recently written file is finished.
    /// `1` keeps one file open, finished whenever an event of another hour arrives.
    public var maxOpenFiles: Int
    /// The most events read from the store at once.
    public var batchSize: Int
    /// How a failing write or upload is retried before the exporter stops with the error.
    public var retry: RetryPolicy
    /// Where the exporter's consumer reports starting, catching up, retries and stopping
    /// (docs/CONSUMERS.md, "Logging"); nil: nothing is logged.
    public var logger: Logger?
    /// Where the exporter records its metrics (docs/LAKEHOUSE.md, "Metrics": files and events
    /// exported, the checkpoint saved); nil: nowhere.
    public var metrics: (any MetricsFactory)?
    /// When the export journal lists this many files, every open file is finished, so that the
    /// checkpoint passes them and the journal empties (docs/LAKEHOUSE.md, "Open files"). Not
    /// public: 1,024 in use, smaller in tests.
    var journalLimit = 1024

    /// Creates a configuration.
    /// - Parameters:
    ///   - source: The name in every file name; any text (it is made safe for file names).
    ///   - filter: Which events to export (default: all).
    ///   - compression: `.none` (default) or `.gzip(level:)`.
    ///   - maxFileBytes: Size roll, in bytes of lines (default 64 MiB).
    ///   - maxFileEvents: Count roll (default none).
    ///   - maxFileAge: Time roll (default 60 s).
    ///   - maxOpenFiles: Hours with a file open at once, 1…1,024 (default 8).
    ///   - batchSize: Events per store read (default 4,096).
    ///   - retry: Retries of a failing write or upload (default 5 attempts, 100 ms … 10 s).
    public init(source: String, filter: EventFilter = EventFilter(), compression: ExportCompression = .none,
                maxFileBytes: Int = 64 << 20, maxFileEvents: Int? = nil, maxFileAge: Duration = .seconds(60),
                maxOpenFiles: Int = 8, batchSize: Int = 4096, retry: RetryPolicy = RetryPolicy()) {
        self.source = source
        self.filter = filter
        self.compression = compression
        self.maxFileBytes = maxFileBytes
        self.maxFileEvents = maxFileEvents
        self.maxFileAge = maxFileAge
        self.maxOpenFiles = maxOpenFiles
        self.batchSize = batchSize
        self.retry = retry
    }

    /// The checkpointed consumer's name: `lakehouse-export:{source}`.
    public var consumerName: String { "lakehouse-export:" + source }

    /// Checks the settings.
    /// - Throws: ``StrataError/invalidArgument(_:)`` naming the first bad setting.
    public func validate() throws {
        if source.isEmpty || source.utf8.count > 200 {
            throw StrataError.invalidArgument("the export source name must be 1–200 bytes, got \(source.utf8.count)")
        }
        if maxFileBytes < 1 { throw StrataError.invalidArgument("maxFileBytes must be at least 1, got \(maxFileBytes)") }
        if let maxFileEvents, maxFileEvents < 1 {
            throw StrataError.invalidArgument("maxFileEvents must be at least 1, got \(maxFileEvents)")
        }
        if maxFileAge <= .zero { throw StrataError.invalidArgument("maxFileAge must be positive") }
        if !(1...1024).contains(maxOpenFiles) {
            throw StrataError.invalidArgument("maxOpenFiles must be 1…1024, got \(maxOpenFiles)")
        }
        if batchSize < 1 { throw StrataError.invalidArgument("batchSize must be at least 1, got \(batchSize)") }
        if case .gzip(let level) = compression, !(1...9).contains(level) {
            throw StrataError.invalidArgument("the gzip level must be 1…9, got \(level)")
        }
    }
}
