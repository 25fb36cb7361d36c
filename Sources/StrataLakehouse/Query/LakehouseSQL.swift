import Strata
import Foundation
import StrataJSON

/// DuckDB SQL over exported files (docs/LAKEHOUSE.md, "Querying with DuckDB").
///
/// ```swift
/// let sql = try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: "/data/lake", eventTypes: ["rpc.call"],
///                                                              sourceClass: "ChatRoom", limit: 1000))
/// // SELECT * FROM read_json_auto('/data/lake/events/*/*/*/*/*.jsonl*', …) WHERE … LIMIT 1000
/// ```
///
/// Every query reads `read_json_auto` with the column types pinned (`columns = {…}`): `data` and
/// `metadata` are `JSON`, so a key absent from DuckDB's sample rows still reads; positions are
/// `UBIGINT`, so bookmark ranges compare as numbers. The glob always reaches the hour folders.
public enum LakehouseSQL {
    /// The longest text option, in UTF-8 bytes.
    public static let maxValueLength = 256
    /// The longest root.
    public static let maxRootLength = 1024
    /// The largest `limit`.
    public static let maxLimit = 100_000_000

    /// The pinned column types of the line format.
    public static let columns = "{v: 'INTEGER', id: 'UUID', type: 'VARCHAR', ts: 'TIMESTAMPTZ', "
        + "source: 'STRUCT(id VARCHAR, name VARCHAR, class VARCHAR, region VARCHAR, worker VARCHAR)', stream: 'VARCHAR', "
        + "position: 'UBIGINT', revision: 'UBIGINT', data: 'JSON', metadata: 'JSON', recordedAt: 'TIMESTAMPTZ', "
        + "contentType: 'VARCHAR', dataEncoding: 'VARCHAR'}"

    /// The orderings ``buildQuery(_:)`` accepts.
    public static let eventOrderings = orderings(["ts", "position", "type", "stream", "recordedAt"])
    /// The orderings ``buildLatencyQuery(_:)`` accepts.
    public static let latencyOrderings = orderings(["calls", "p50", "p95", "p99", "avg", "max", "source_class", "method"])
    /// The orderings ``buildHistoryQuery(_:)`` and ``buildPITRRangeQuery(_:)`` accept.
    public static let changeOrderings = orderings(["bookmark", "ts"])

    /// The change-event types of CDC collections.
    public static let changeTypes = ["collection.insert", "collection.update", "collection.delete"]

    // MARK: - Builders

    /// Events matching the options: every column, `ts, position` order unless `orderBy` says otherwise.
    /// - Throws: ``LakehouseQueryError``.
    public static func buildQuery(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        var conditions = try commonConditions(options)
        if let collection = options.collection {
            conditions.append("json_extract_string(data, '$.collection') = \(try literal(collection, "collection"))")
        }
        return "SELECT * FROM \(try source(options))" + whereClause(conditions)
            + " ORDER BY " + (try ordering(options.orderBy, allowed: eventOrderings) ?? "ts, position")
            + (try limitClause(options.limit))
    }

    /// The change history of one document (`collection` and `docId` required), oldest first:
    /// `bookmark, ts, type, docId, doc, prev, id, source`.
    /// - Throws: ``LakehouseQueryError``.
    public static func buildHistoryQuery(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        guard let collection = options.collection else { throw .missingOption("collection") }
        guard let docId = options.docId else { throw .missingOption("docId") }
        var conditions = try commonConditions(options, types: changeTypes)
        conditions.append("json_extract_string(data, '$.collection') = \(try literal(collection, "collection"))")
        conditions.append("json_extract_string(data, '$.docId') = \(try literal(docId, "docId"))")
        return "SELECT position AS bookmark, ts, type, json_extract_string(data, '$.docId') AS docId, "
            + "json_extract(data, '$.doc') AS doc, json_extract(data, '$.prev') AS prev, id, source FROM \(try source(options))"
            + whereClause(conditions)
            + " ORDER BY " + (try ordering(options.orderBy, allowed: changeOrderings) ?? "bookmark")
            + (try limitClause(options.limit))
    }

    /// Latency of `rpc.call` events (`data.durationMs`) per source class and method:
    /// `source_class, method, calls, p50, p95, p99, avg, max` (milliseconds).
    /// - Throws: ``LakehouseQueryError``.
    public static func buildLatencyQuery(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        var conditions = try commonConditions(options, types: ["rpc.call"])
        if let method = options.method {
            conditions.append("json_extract_string(data, '$.method') = \(try literal(method, "method"))")
        }
        conditions.append("json_extract(data, '$.durationMs') IS NOT NULL")
        return "SELECT source_class, method, count(*) AS calls, quantile_cont(duration, 0.5) AS p50, "
            + "quantile_cont(duration, 0.95) AS p95, quantile_cont(duration, 0.99) AS p99, avg(duration) AS \"avg\", "
            + "max(duration) AS \"max\" FROM (SELECT struct_extract(source, 'class') AS source_class, "
            + "json_extract_string(data, '$.method') AS method, CAST(json_extract(data, '$.durationMs') AS DOUBLE) AS duration "
            + "FROM \(try source(options))" + whereClause(conditions) + ") GROUP BY source_class, method"
            + " ORDER BY " + (try ordering(options.orderBy, allowed: latencyOrderings) ?? "source_class, method")
            + (try limitClause(options.limit))
    }

    /// Change events with positions from `startBookmark` through `endBookmark` (both required,
    /// both included, compared as numbers), optionally of one collection, in position order:
    /// `bookmark, ts, type, collection, docId, doc, prev, id, stream, source`.
    /// - Throws: ``LakehouseQueryError``.
    public static func buildPITRRangeQuery(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        guard let start = options.startBookmark else { throw .missingOption("startBookmark") }
        guard let end = options.endBookmark else { throw .missingOption("endBookmark") }
        guard start <= end else { throw .invalidRange(option: "bookmarks", reason: "startBookmark \(start) is after endBookmark \(end)") }
        var conditions = try commonConditions(options, types: changeTypes)
        conditions.append("position BETWEEN \(start) AND \(end)")
        if let collection = options.collection {
            conditions.append("json_extract_string(data, '$.collection') = \(try literal(collection, "collection"))")
        }
        return "SELECT position AS bookmark, ts, type, json_extract_string(data, '$.collection') AS collection, "
            + "json_extract_string(data, '$.docId') AS docId, json_extract(data, '$.doc') AS doc, json_extract(data, '$.prev') AS prev, "
            + "id, stream, source FROM \(try source(options))" + whereClause(conditions)
            + " ORDER BY " + (try ordering(options.orderBy, allowed: changeOrderings) ?? "bookmark")
            + (try limitClause(options.limit))
    }

    // MARK: - Pieces

    /// The glob of the files the options can touch: the partition levels that the whole date
    /// range shares are fixed, the others are `*` — always down to the hour folder.
    public static func glob(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        let root = try checkedRoot(options.root)
        var parts = ["*", "*", "*", "*"]
        if let range = options.dateRange {
            let start = UTCTime.civil(micros(range.lowerBound))
            let end = UTCTime.civil(micros(range.upperBound))
            let a = [ExportFileName.pad(start.year, 4), ExportFileName.pad(start.month, 2), ExportFileName.pad(start.day, 2), ExportFileName.pad(start.hour, 2)]
            let b = [ExportFileName.pad(end.year, 4), ExportFileName.pad(end.month, 2), ExportFileName.pad(end.day, 2), ExportFileName.pad(end.hour, 2)]
            for level in 0..<4 {
                guard a[level] == b[level] else { break }
                parts[level] = a[level]
            }
        }
        return root + "/events/" + parts.joined(separator: "/") + "/" + options.files.pattern
    }

    private static func source(_ options: LakehouseQueryOptions) throws(LakehouseQueryError) -> String {
        "read_json_auto(\(quote(try glob(options))), format = 'newline_delimited', columns = \(columns))"
    }

    private static func commonConditions(_ options: LakehouseQueryOptions, types fixed: [String]? = nil) throws(LakehouseQueryError) -> [String] {
        var conditions: [String] = []
        if let range = options.dateRange {
            guard range.lowerBound <= range.upperBound else { throw .invalidRange(option: "dateRange", reason: "start is after end") }
            conditions.append("ts BETWEEN \(timestamp(range.lowerBound)) AND \(timestamp(range.upperBound))")
        }
        var types: [String] = []
        for (k, type) in options.eventTypes.enumerated() { types.append(try literal(type, "eventTypes[\(k)]")) }
        if let fixed {
            let allowed = fixed.map(quote)
            conditions.append("type IN (\(allowed.joined(separator: ", ")))")
        }
        if !types.isEmpty { conditions.append("type IN (\(types.joined(separator: ", ")))") }
        if let value = options.sourceClass { conditions.append("struct_extract(source, 'class') = \(try literal(value, "sourceClass"))") }
        if let value = options.sourceId { conditions.append("struct_extract(source, 'id') = \(try literal(value, "sourceId"))") }
        if let value = options.sourceRegion { conditions.append("struct_extract(source, 'region') = \(try literal(value, "sourceRegion"))") }
        return conditions
    }

    private static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
    }

    private static func limitClause(_ limit: Int?) throws(LakehouseQueryError) -> String {
        guard let limit else { return "" }
        guard limit >= 1, limit <= maxLimit else { throw .invalidLimit(limit, maximum: maxLimit) }
        return " LIMIT \(limit)"
    }

    private static func ordering(_ value: String?, allowed: [String]) throws(LakehouseQueryError) -> String? {
        guard let value else { return nil }
        let normalized = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        guard let match = allowed.first(where: { $0.caseInsensitiveCompare(normalized) == .orderedSame }) else {
            throw .orderByNotAllowed(value, allowed: allowed)
        }
        let column = match.split(separator: " ")[0]
        let quoted = column == "avg" || column == "max" ? "\"\(column)\"" : String(column)
        return match.hasSuffix(" DESC") ? quoted + " DESC" : quoted + " ASC"
    }

    private static func orderings(_ columns: [String]) -> [String] {
        columns.flatMap { [$0, $0 + " ASC", $0 + " DESC"] }
    }

    /// A checked, quoted text value.
    private static func literal(_ value: String, _ option: String) throws(LakehouseQueryError) -> String {
        try check(value, option, limit: maxValueLength)
        return quote(value)
    }

    private static func check(_ value: String, _ option: String, limit: Int) throws(LakehouseQueryError) {
        let length = value.utf8.count
        guard length > 0 else { throw .invalidValue(option: option, reason: "it is empty") }
        guard length <= limit else { throw .valueTooLong(option: option, length: length, limit: limit) }
        if value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .invalidValue(option: option, reason: "it holds a control character")
        }
    }

    private static func checkedRoot(_ root: String) throws(LakehouseQueryError) -> String {
        try check(root, "root", limit: maxRootLength)
        if root.contains(where: { "*?[]{}".contains($0) }) {
            throw .invalidValue(option: "root", reason: "it holds a glob character (* ? [ ] { })")
        }
        var trimmed = root
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }

    /// A SQL string literal: `'` doubled (DuckDB gives backslashes no meaning in '…').
    static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    private static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    private static func timestamp(_ date: Date) -> String {
        let text = UTCTime.iso8601(micros(date))
        // 2026-01-15T14:00:01.123456Z → TIMESTAMPTZ '2026-01-15 14:00:01.123456+00'
        return "TIMESTAMPTZ '" + text.dropLast().replacingOccurrences(of: "T", with: " ") + "+00'"
    }
}
