import Foundation
import Strata
import StrataConsumers
import StrataJSON
@testable import StrataLakehouse

/// Events in dotdo's shape: metadata `{ts, source}`, rpc.call and CDC payloads.
enum Sample {
    /// Metadata with an event time and a source.
    static func metadata(ts: String, id: String = "do-1", className: String? = "ChatRoom", region: String? = "eu-west") -> String {
        var source = #"{"id":"\#(id)""#
        if let className { source += #","class":"\#(className)""# }
        if let region { source += #","region":"\#(region)""# }
        source += "}"
        return #"{"ts":"\#(ts)","source":\#(source)}"#
    }

    static func rpc(method: String, durationMs: Double, ts: String, id: String = "do-1", className: String = "ChatRoom",
                    region: String = "eu-west") -> EventData {
        EventData(type: "rpc.call", json: #"{"method":"\#(method)","namespace":"chat","durationMs":\#(durationMs),"success":true}"#,
                  metadata: metadata(ts: ts, id: id, className: className, region: region))
    }

    static func change(_ type: String, collection: String, docId: String, doc: String?, prev: String?, ts: String) -> EventData {
        var data = #"{"collection":"\#(collection)","docId":"\#(docId)""#
        if let doc { data += #","doc":\#(doc)"# }
        if let prev { data += #","prev":\#(prev)"# }
        data += "}"
        return EventData(type: type, json: data, metadata: metadata(ts: ts))
    }

    /// `count` plain events spread over `streams` streams, one hour partition.
    static func fill(_ store: any EventStore, count: Int, streams: Int = 3, ts: String = "2026-01-15T14:00:00Z", batch: Int = 100) async throws {
        var appended = 0
        while appended < count {
            let n = min(batch, count - appended)
            var requests: [AppendRequest] = []
            for s in 0..<streams {
                let events = (0..<n).filter { ($0 + appended) % streams == s }.map { k in
                    EventData(type: "order-placed", json: #"{"n":\#(appended + k),"text":"line\nbreak"}"#, metadata: metadata(ts: ts))
                }
                if !events.isEmpty { requests.append(AppendRequest(stream: "order-\(s)", expectedRevision: .any, events: events)) }
            }
            _ = try await store.append(requests, condition: nil)
            appended += n
        }
    }

    /// 2026-01-15T10:00:00Z in microseconds.
    static let baseHour: Int64 = 1_768_471_200_000_000

    /// Appends one event per element of `hours`, the `i`th timed (metadata `ts`) in hour
    /// `hours[i]` after 2026-01-15T10:00Z, `i` milliseconds into it, in batches to one stream
    /// (so the `i`th event appended gets the `i`th position after those before).
    static func timed(_ store: any EventStore, hours: [Int], batch: Int = 500) async throws {
        var index = 0
        while index < hours.count {
            let end = min(index + batch, hours.count)
            let events = (index..<end).map { i in
                let ts = UTCTime.iso8601(baseHour + Int64(hours[i]) * UTCTime.microsecondsPerHour + Int64(i % 3_000_000) * 1000)
                return EventData(type: "tap", json: #"{"i":\#(i)}"#, metadata: metadata(ts: ts))
            }
            _ = try await store.append(to: "phone", events: events)
            index = end
        }
    }
}

/// Reads what an export left under a root.
enum Lake {
    /// Every export file under `root/events`, in import order (source, first position).
    static func files(_ root: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: root + "/events") else { return [] }
        return try LakehouseImporter.files(in: [root + "/events"])
    }

    /// Every line of every file, parsed, in file order.
    static func lines(_ root: String) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        for file in try files(root) {
            var reader = try LineFileReader(path: file)
            defer { reader.close() }
            while let line = try reader.next() {
                all.append(try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])
            }
        }
        return all
    }

    /// Lines whose event time is not in the hour of their file's partition folder (none when the
    /// layout holds), as `file: ts`.
    static func misplaced(_ root: String) throws -> [String] {
        var wrong: [String] = []
        for file in try files(root) {
            let parts = file.split(separator: "/").suffix(5).prefix(4).map(String.init)
            let hour = parts[0] + "-" + parts[1] + "-" + parts[2] + "T" + parts[3]
            var reader = try LineFileReader(path: file)
            defer { reader.close() }
            while let line = try reader.next() {
                let ts = (try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])["ts"] as! String
                if !ts.hasPrefix(hour) { wrong.append(file + ": " + ts) }
            }
        }
        return wrong
    }

    /// The positions of all lines, in file order.
    static func positions(_ root: String) throws -> [UInt64] {
        try lines(root).map { ($0["position"] as! NSNumber).uint64Value }
    }
}

/// A target around a real directory that records its publishes and journal writes, and fails on
/// demand: the step after `failAfter` counted steps (publishes, and journal writes when counted)
/// fails, and so does every later one.
final class FlakyTarget: ExportTarget, @unchecked Sendable {
    // @unchecked: the counters are guarded by `lock`.
    enum Step: Hashable { case publish, journal }

    let inner: DirectoryTarget
    private let lock = NSLock()
    private var steps = 0
    private var published = 0
    private var written: [[UInt8]] = []
    /// Counted steps allowed before every later one fails.
    let failAfter: Int
    /// Whether the failing step still happens first (a crash after the rename or journal write).
    let failAfterRename: Bool
    /// The steps counted.
    let counting: Set<Step>

    init(root: String, failAfter: Int, failAfterRename: Bool, counting: Set<Step> = [.publish]) throws {
        inner = try DirectoryTarget(root: root)
        self.failAfter = failAfter
        self.failAfterRename = failAfterRename
        self.counting = counting
    }

    /// A target that never fails, recording only.
    convenience init(root: String) throws {
        try self.init(root: root, failAfter: .max, failAfterRename: false, counting: [])
    }

    var stagingDirectory: String { inner.stagingDirectory }
    var location: String { inner.location }
    /// Successful publishes so far.
    var publishes: Int { lock.withLock { published } }
    /// The journals written, oldest first.
    var journals: [[UInt8]] { lock.withLock { written } }

    /// Runs a step, or fails it (after running it when `failAfterRename`) once `failAfter` counted steps passed.
    private func step(_ kind: Step, _ name: String, _ body: () async throws -> Void) async throws {
        guard counting.contains(kind) else { return try await body() }
        let count = lock.withLock { () -> Int in steps += 1; return steps }
        if count > failAfter {
            if failAfterRename { try await body() }
            throw StrataError.io(path: name, operation: "\(kind)", reason: "injected failure")
        }
        try await body()
    }

    func publish(stagedFile: String, key: String) async throws {
        try await step(.publish, key) { try await inner.publish(stagedFile: stagedFile, key: key) }
        lock.withLock { published += 1 }
    }

    func remove(key: String) async throws { try await inner.remove(key: key) }

    func readState(key: String) async throws -> [UInt8]? { try await inner.readState(key: key) }

    func writeState(_ bytes: [UInt8], key: String) async throws {
        try await step(.journal, key) { try await inner.writeState(bytes, key: key) }
        lock.withLock { written.append(bytes) }
    }
}
