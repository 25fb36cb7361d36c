import Foundation
import Strata
import StrataConsumers
@testable import StrataLakehouse
import StrataTestSupport
import Testing
import StrataJSON

/// Every query builder's SQL run by real DuckDB (python `duckdb`) over files the exporter wrote.
/// scripts/test.sh installs duckdb; set STRATA_SKIP_DUCKDB=1 to skip where it cannot be had.
@Suite("Lakehouse DuckDB queries", .disabled(if: ProcessInfo.processInfo.environment["STRATA_SKIP_DUCKDB"] == "1"))
struct DuckDBQueryTests {
    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("python/lakehouse_duckdb.py").path

    /// Runs named queries and returns each one's rows.
    private func run(_ queries: [String: String], in folder: TemporaryDirectory) async throws -> [String: [[String: Any]]] {
        let file = folder.path + "/queries.json"
        try JSONSerialization.data(withJSONObject: queries).write(to: URL(fileURLWithPath: file))
        guard let python = Executable.onPath("python3") else {
            Issue.record("python3 is missing (scripts/test.sh installs duckdb; STRATA_SKIP_DUCKDB=1 skips)")
            return [:]
        }
        let result = try await ChildProcess.run(python, [Self.script, file])
        try #require(result.status == 0, "python failed: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        var rows: [String: [[String: Any]]] = [:]
        for (name, value) in object {
            if let error = (value as? [String: Any])?["error"] {
                Issue.record("query \(name) failed in DuckDB: \(error)\nSQL: \(queries[name] ?? "")")
                continue
            }
            rows[name] = value as? [[String: Any]]
        }
        return rows
    }

    private func date(_ text: String) -> Date {
        Date(timeIntervalSince1970: Double(Array(text.utf8).withUnsafeBytes { UTCTime.parseISO8601($0)! }) / 1_000_000)
    }

    @Test("every builder's SQL runs in DuckDB over exported plain and gzip files and returns the expected rows")
    func builders() async throws {
        let folder = try TemporaryDirectory("duckdb")
        defer { folder.remove() }
        let root = folder.path + "/lake"

        // Store A: positions 1–5 the day before, rpc calls 6–11, user changes 12–15, an order change 16, the next day 17.
        let a = InMemoryEventStore()
        _ = try await a.append(to: "noise", events: (0..<5).map { _ in
            EventData(type: "noise", json: "{}", metadata: Sample.metadata(ts: "2026-01-14T10:00:00Z"))
        })
        _ = try await a.append(to: "rpc", events: [
            Sample.rpc(method: "send", durationMs: 10, ts: "2026-01-15T14:01:00Z"),
            Sample.rpc(method: "send", durationMs: 20, ts: "2026-01-15T14:02:00Z"),
            Sample.rpc(method: "send", durationMs: 30, ts: "2026-01-15T14:03:00Z"),
            Sample.rpc(method: "send", durationMs: 40, ts: "2026-01-15T14:04:00Z"),
            Sample.rpc(method: "join", durationMs: 5, ts: "2026-01-15T14:10:00Z"),
            Sample.rpc(method: "send", durationMs: 100, ts: "2026-01-15T15:05:00Z", id: "lobby-1", className: "Lobby", region: "us-east"),
        ])
        _ = try await a.append(to: "cdc-users", events: [
            Sample.change("collection.insert", collection: "users", docId: "u1", doc: #"{"name":"Ann"}"#, prev: nil, ts: "2026-01-15T14:20:00Z"),
            Sample.change("collection.update", collection: "users", docId: "u1", doc: #"{"name":"Anne"}"#, prev: #"{"name":"Ann"}"#, ts: "2026-01-15T14:21:00Z"),
            Sample.change("collection.insert", collection: "users", docId: "u2", doc: #"{"name":"Bo"}"#, prev: nil, ts: "2026-01-15T14:22:00Z"),
            Sample.change("collection.delete", collection: "users", docId: "u1", doc: nil, prev: #"{"name":"Anne"}"#, ts: "2026-01-15T15:30:00Z"),
        ])
        _ = try await a.append(to: "cdc-orders", events: [
            Sample.change("collection.insert", collection: "orders", docId: "o1", doc: #"{"total":1}"#, prev: nil, ts: "2026-01-15T15:31:00Z"),
        ])
        _ = try await a.append(to: "app", events: [
            EventData(type: "user.action", json: #"{"action":"click"}"#, metadata: Sample.metadata(ts: "2026-01-16T09:00:00Z", id: "do-9")),
        ])
        let checkpoints = try FileCheckpointStore(directory: folder.path + "/checkpoints")
        try await LakehouseExporter(store: a, target: DirectoryTarget(root: root), checkpoints: checkpoints,
                                    configuration: ExportConfiguration(source: "node-a")).exportAvailable()
        // Store B, exported gzip-compressed into the same lakehouse.
        let b = InMemoryEventStore()
        _ = try await b.append(to: "rpc", events: [Sample.rpc(method: "send", durationMs: 50, ts: "2026-01-15T16:00:00Z", id: "do-2")])
        try await LakehouseExporter(store: b, target: DirectoryTarget(root: root), checkpoints: checkpoints,
                                    configuration: ExportConfiguration(source: "node-b", compression: .gzip())).exportAvailable()

        let day = date("2026-01-15T00:00:00Z")...date("2026-01-15T23:59:59.999Z")
        let dayQuery = try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, dateRange: day))
        #expect(dayQuery.contains("/events/2026/01/15/*/*.jsonl*"))
        let queries: [String: String] = [
            "day": dayQuery,
            "latestChatRoom": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, eventTypes: ["rpc.call"], sourceClass: "ChatRoom",
                                                                                 limit: 3, orderBy: "ts DESC")),
            "region": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, sourceRegion: "us-east")),
            "sourceId": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, sourceId: "do-9")),
            "users": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, collection: "users", files: .plain)),
            "quoted": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, collection: "o'brien")),
            "gzipOnly": try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, files: .gzip)),
            "history": try LakehouseSQL.buildHistoryQuery(LakehouseQueryOptions(root: root, collection: "users", docId: "u1")),
            "latency": try LakehouseSQL.buildLatencyQuery(LakehouseQueryOptions(root: root)),
            "latencySend": try LakehouseSQL.buildLatencyQuery(LakehouseQueryOptions(root: root, sourceClass: "ChatRoom", method: "send")),
            "pitr": try LakehouseSQL.buildPITRRangeQuery(LakehouseQueryOptions(root: root, collection: "users", startBookmark: 9, endBookmark: 14)),
            "pitrAll": try LakehouseSQL.buildPITRRangeQuery(LakehouseQueryOptions(root: root, startBookmark: 13, endBookmark: 100, orderBy: "bookmark DESC")),
            "inferred": "SELECT typeof(id) AS id, typeof(ts) AS ts, typeof(position) AS position, typeof(source) AS source "
                + "FROM read_json_auto('\(root)/events/*/*/*/*/*.jsonl') LIMIT 1",
        ]
        let rows = try await run(queries, in: folder)

        func positions(_ name: String, key: String = "position") -> [Int] {
            (rows[name] ?? []).map { ($0[key] as? NSNumber)?.intValue ?? -1 }
        }
        // 6 rpc calls + 5 changes of store A and the call of store B; not the day before or after.
        #expect(rows["day"]?.count == 12)
        #expect((rows["day"] ?? []).map { $0["ts"] as? String ?? "" } == (rows["day"] ?? []).map { $0["ts"] as? String ?? "" }.sorted())
        let latest = rows["latestChatRoom"] ?? []
        #expect(latest.map { (($0["data"] as? [String: Any])?["durationMs"] as? NSNumber)?.intValue } == [50, 5, 40])
        #expect(latest.first?["ts"] as? String == "2026-01-15 16:00:00+00")
        #expect((latest.first?["source"] as? [String: Any])?["id"] as? String == "do-2")
        #expect(positions("region") == [11])
        #expect(positions("sourceId") == [17])
        #expect(positions("users") == [12, 13, 14, 15])
        #expect(rows["quoted"]?.count == 0)
        #expect(rows["gzipOnly"]?.count == 1)

        let history = rows["history"] ?? []
        #expect(positions("history", key: "bookmark") == [12, 13, 15])
        #expect(history.map { $0["type"] as? String } == ["collection.insert", "collection.update", "collection.delete"])
        #expect((history[safe: 1]?["prev"] as? [String: Any])?["name"] as? String == "Ann")
        #expect((history[safe: 1]?["doc"] as? [String: Any])?["name"] as? String == "Anne")
        #expect(history[safe: 2]?["doc"] is NSNull)

        let latency = rows["latency"] ?? []
        #expect(latency.map { "\($0["source_class"] as? String ?? "-")/\($0["method"] as? String ?? "-")" } == ["ChatRoom/join", "ChatRoom/send", "Lobby/send"])
        let send = latency[safe: 1] ?? [:]
        #expect((send["calls"] as? NSNumber)?.intValue == 5)
        #expect((send["p50"] as? NSNumber)?.doubleValue == 30)
        #expect((send["avg"] as? NSNumber)?.doubleValue == 30)
        #expect((send["max"] as? NSNumber)?.doubleValue == 50)
        let only = rows["latencySend"] ?? []
        #expect(only.count == 1)
        #expect(abs(((only.first?["p95"] as? NSNumber)?.doubleValue ?? 0) - 48) < 1e-9)
        #expect(abs(((only.first?["p99"] as? NSNumber)?.doubleValue ?? 0) - 49.6) < 1e-9)

        // Bookmarks compare as numbers: 9 ≤ 12, 13, 14 ≤ 14 (as text "9" > "14").
        #expect(positions("pitr", key: "bookmark") == [12, 13, 14])
        #expect(positions("pitrAll", key: "bookmark") == [16, 15, 14, 13])
        #expect(rows["pitrAll"]?.first?["collection"] as? String == "orders")

        let inferred = rows["inferred"]?.first ?? [:]
        #expect(inferred["id"] as? String == "UUID")
        #expect(inferred["ts"] as? String == "TIMESTAMP WITH TIME ZONE")
        #expect(inferred["position"] as? String == "BIGINT")
        #expect((inferred["source"] as? String)?.hasPrefix("STRUCT(id VARCHAR") == true)
    }

    @Test("bad options are typed errors, and text is quoted")
    func badOptions() throws {
        let root = "/data/lake"
        #expect(throws: LakehouseQueryError.orderByNotAllowed("ts; DROP TABLE x", allowed: LakehouseSQL.eventOrderings)) {
            try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, orderBy: "ts; DROP TABLE x"))
        }
        let long = String(repeating: "x", count: 257)
        #expect(throws: LakehouseQueryError.valueTooLong(option: "eventTypes[1]", length: 257, limit: 256)) {
            try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, eventTypes: ["ok", long]))
        }
        #expect(throws: LakehouseQueryError.invalidValue(option: "sourceClass", reason: "it holds a control character")) {
            try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, sourceClass: "a\nb"))
        }
        #expect(throws: LakehouseQueryError.invalidLimit(0, maximum: LakehouseSQL.maxLimit)) {
            try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: root, limit: 0))
        }
        #expect(throws: LakehouseQueryError.invalidRange(option: "bookmarks", reason: "startBookmark 10 is after endBookmark 9")) {
            try LakehouseSQL.buildPITRRangeQuery(LakehouseQueryOptions(root: root, startBookmark: 10, endBookmark: 9))
        }
        #expect(throws: LakehouseQueryError.missingOption("docId")) {
            try LakehouseSQL.buildHistoryQuery(LakehouseQueryOptions(root: root, collection: "users"))
        }
        #expect(throws: LakehouseQueryError.invalidValue(option: "root", reason: "it holds a glob character (* ? [ ] { })")) {
            try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: "/data/*"))
        }
        #expect(throws: LakehouseQueryError.orderByNotAllowed("ts", allowed: LakehouseSQL.latencyOrderings)) {
            try LakehouseSQL.buildLatencyQuery(LakehouseQueryOptions(root: root, orderBy: "ts"))
        }
        let sql = try LakehouseSQL.buildQuery(LakehouseQueryOptions(root: "/data/it's", eventTypes: ["a'b"], orderBy: "position  desc"))
        #expect(sql.contains("read_json_auto('/data/it''s/events/*/*/*/*/*.jsonl*'"))
        #expect(sql.contains("type IN ('a''b')"))
        #expect(sql.hasSuffix(" ORDER BY position DESC"))
        // One hour: the glob names it; one month: day and hour are wildcards.
        let hour = Date(timeIntervalSince1970: 1_768_485_600)...Date(timeIntervalSince1970: 1_768_489_199)
        #expect(try LakehouseSQL.glob(LakehouseQueryOptions(root: root, dateRange: hour)) == "/data/lake/events/2026/01/15/14/*.jsonl*")
        let month = Date(timeIntervalSince1970: 1_767_225_600)...Date(timeIntervalSince1970: 1_769_817_600)
        #expect(try LakehouseSQL.glob(LakehouseQueryOptions(root: root, dateRange: month, files: .gzip)) == "/data/lake/events/2026/01/*/*/*.jsonl.gz")
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
