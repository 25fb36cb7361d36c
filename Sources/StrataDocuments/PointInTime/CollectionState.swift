import Foundation
import Strata
import StrataJSON

/// A moment in a store's history: a position, or a time.
public enum PointInTime: Sendable, Hashable {
    /// After every event at or before this `$all` position (a ``CDCChange/bookmark`` works).
    case position(UInt64)
    /// After every event of the collection recorded at or before this time, up to the first one
    /// recorded after it (the log's order decides, so the state is always one the log passed through).
    case time(Date)
}

/// A collection as it was at a point in time, rebuilt from the log: read-only.
///
/// It is folded by the same code as a live view (``DocumentStore``), so documents and meta
/// (`changes`, dates) equal what a live view showed at that position.
public final class CollectionState: Sendable {
    /// The collection.
    public let collection: String
    /// The position of the last of the collection's events it includes (0: none).
    public let position: UInt64
    private let view: DocumentView

    init(collection: String, position: UInt64, view: DocumentView) {
        self.collection = collection
        self.position = position
        self.view = view
    }

    /// The document under `key` then, or `nil`.
    public func get(_ key: String) throws -> Document? { view.document(try DocumentNaming.normalizeKey(key)) }

    /// Every key, sorted by UTF-8 bytes.
    public func keys() -> [String] { view.liveKeys().sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    /// The keys in which a regular expression finds a match, sorted by UTF-8 bytes, bounded as
    /// `DocumentStore.keys(matching:)` is (the default ``DocumentStoreOptions`` limits).
    public func keys(matching pattern: String) throws -> [String] {
        let options = DocumentStoreOptions()
        return try KeyPattern(regex: pattern, maxBytes: options.maxKeyPatternBytes).filter(view.liveKeys(), budget: options.keyPatternTimeBudget)
    }

    /// The keys a glob (`*`, `?`) matches whole, sorted by UTF-8 bytes.
    public func keys(glob: String) throws -> [String] { try keys(matching: KeyPattern.regex(forGlob: glob)) }

    /// The number of documents.
    public var count: Int { view.withLock { view.liveCount } }

    /// The number of documents matching a filter (the evaluator of `DocumentStore.count`).
    public func count(_ filter: DocumentValue) throws -> Int { try view.count(try DocumentFilter(filter)) }

    /// Every document by key.
    public var documents: [String: Document] {
        view.withLock {
            var result: [String: Document] = [:]
            for (key, entry) in view.entries where entry.live { result[key] = DocumentView.document(key, entry) }
            return result
        }
    }

    /// Documents matching a filter, shaped by `options` (the same evaluator as `DocumentStore.query`).
    /// Traced as a `strata.documents.query` span, with `strata.position` besides the collection
    /// and the number of results.
    public func query(_ filter: DocumentValue = [:], options: QueryOptions = QueryOptions()) throws -> [Document] {
        try DocumentTracing.span("strata.documents.query", collection: collection, position: position, results: \.count) {
            try QueryShaping.apply(try view.matching(try DocumentFilter(filter)).documents, options: options)
        }
    }

    /// The live documents' data by key: what a restore writes.
    var contents: [String: DocumentValue] {
        view.withLock {
            var result: [String: DocumentValue] = [:]
            for (key, entry) in view.entries where entry.live { result[key] = entry.data }
            return result
        }
    }
}

/// One version of a document in the log.
public struct DocumentVersion: Sendable, Hashable {
    /// The event that made this version.
    public enum Operation: String, Sendable, Hashable {
        /// A `put` replaced the document.
        case put = "document.put"
        /// A `patch` merged into it.
        case patch = "document.patch"
        /// A `delete` ended it.
        case delete = "document.delete"
        /// Compaction restated it (no change to data or meta).
        case snapshot = "document.snapshot"
        /// Compaction forgot the deleted document.
        case purged = "document.purged"
    }

    /// The event's `$all` position.
    public let position: UInt64
    /// The event's revision in the document's stream.
    public let revision: UInt64
    /// When the store recorded the event: microseconds since 1970 UTC.
    public let recordedAtMicroseconds: Int64
    /// The operation.
    public let operation: Operation
    /// The document after the event (data and meta); `nil` after a delete or purge.
    public let document: Document?

    /// The recorded time as ISO 8601 UTC with milliseconds.
    public var timestamp: String { UTCTime.iso8601(recordedAtMicroseconds, fractionDigits: 3) }
}
