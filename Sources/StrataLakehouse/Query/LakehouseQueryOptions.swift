import Foundation

/// Which export files a query reads.
public enum LakehouseFiles: Sendable, Hashable {
    /// Plain and gzip files (`*.jsonl*`), the default.
    case all
    /// Only `*.jsonl`.
    case plain
    /// Only `*.jsonl.gz`.
    case gzip

    var pattern: String {
        switch self {
        case .all: "*.jsonl*"
        case .plain: "*.jsonl"
        case .gzip: "*.jsonl.gz"
        }
    }
}

/// The options of the DuckDB query builders (dotdo's, with `source` for dotdo's `do`).
///
/// Every text is checked (at most ``LakehouseSQL/maxValueLength`` bytes, no control characters)
/// and quoted with `'` doubled; `orderBy` must be one of the builder's allowed orderings.
public struct LakehouseQueryOptions: Sendable, Hashable {
    /// The lakehouse root holding `events/`: a local folder, or a URL DuckDB reads (`s3://bucket/prefix`).
    public var root: String
    /// Only events whose `ts` lies in this range (both ends included); it also narrows the glob to
    /// the partitions the range can touch.
    public var dateRange: ClosedRange<Date>?
    /// Only these event types (empty: all).
    public var eventTypes: [String]
    /// Only events whose `source.class` is this.
    public var sourceClass: String?
    /// Only events whose `source.id` is this.
    public var sourceId: String?
    /// Only events whose `source.region` is this.
    public var sourceRegion: String?
    /// Only change events of this collection (`data.collection`).
    public var collection: String?
    /// The document (`data.docId`) of ``LakehouseSQL/buildHistoryQuery(_:)``.
    public var docId: String?
    /// Only rpc.call events of this method (``LakehouseSQL/buildLatencyQuery(_:)``).
    public var method: String?
    /// The first position (bookmark) of ``LakehouseSQL/buildPITRRangeQuery(_:)``, included.
    public var startBookmark: UInt64?
    /// The last position (bookmark) of ``LakehouseSQL/buildPITRRangeQuery(_:)``, included.
    public var endBookmark: UInt64?
    /// At most this many rows (1 … ``LakehouseSQL/maxLimit``).
    public var limit: Int?
    /// An ordering from the builder's allowed list (for example `ts DESC`).
    public var orderBy: String?
    /// Plain, gzip or both.
    public var files: LakehouseFiles

    /// Creates options; only `root` is required.
    public init(root: String, dateRange: ClosedRange<Date>? = nil, eventTypes: [String] = [], sourceClass: String? = nil,
                sourceId: String? = nil, sourceRegion: String? = nil, collection: String? = nil, docId: String? = nil,
                method: String? = nil, startBookmark: UInt64? = nil, endBookmark: UInt64? = nil, limit: Int? = nil,
                orderBy: String? = nil, files: LakehouseFiles = .all) {
        self.root = root
        self.dateRange = dateRange
        self.eventTypes = eventTypes
        self.sourceClass = sourceClass
        self.sourceId = sourceId
        self.sourceRegion = sourceRegion
        self.collection = collection
        self.docId = docId
        self.method = method
        self.startBookmark = startBookmark
        self.endBookmark = endBookmark
        self.limit = limit
        self.orderBy = orderBy
        self.files = files
    }
}

/// Why a query could not be built.
public enum LakehouseQueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A text option is longer than the limit (`option` names it, for example `eventTypes[2]`).
    case valueTooLong(option: String, length: Int, limit: Int)
    /// A text option is empty, holds a control character, or (for `root`) a glob character.
    case invalidValue(option: String, reason: String)
    /// `orderBy` is not one of the builder's allowed orderings.
    case orderByNotAllowed(String, allowed: [String])
    /// `limit` is out of range.
    case invalidLimit(Int, maximum: Int)
    /// A range whose start is after its end (`dateRange`, bookmarks).
    case invalidRange(option: String, reason: String)
    /// A builder's required option is missing.
    case missingOption(String)

    public var description: String {
        switch self {
        case .valueTooLong(let option, let length, let limit):
            "\(option) is \(length) bytes long; the limit is \(limit)"
        case .invalidValue(let option, let reason):
            "\(option) is not usable: \(reason)"
        case .orderByNotAllowed(let value, let allowed):
            "orderBy \"\(value)\" is not allowed; use one of: \(allowed.joined(separator: ", "))"
        case .invalidLimit(let value, let maximum):
            "limit \(value) is out of range; use 1…\(maximum)"
        case .invalidRange(let option, let reason):
            "\(option): \(reason)"
        case .missingOption(let option):
            "this query needs \(option)"
        }
    }
}
