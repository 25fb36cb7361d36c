import Foundation
import Strata
import StrataConsumers
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

    /// The positions of all lines, in file order.
    static func positions(_ root: String) throws -> [UInt64] {
        try lines(root).map { ($0["position"] as! NSNumber).uint64Value }
    }
}

/// A target that fails on demand, around a real directory.
final class FlakyTarget: ExportTarget, @unchecked Sendable {
    // @unchecked: the counters are guarded by `lock`.
    let inner: DirectoryTarget
    private let lock = NSLock()
    private var publishes = 0
    /// Publishes allowed before every later one fails.
    let failAfter: Int
    /// Whether the failing publish still renames the file first (a crash after the rename).
    let failAfterRename: Bool

    init(root: String, failAfter: Int, failAfterRename: Bool) throws {
        inner = try DirectoryTarget(root: root)
        self.failAfter = failAfter
        self.failAfterRename = failAfterRename
    }

    var stagingDirectory: String { inner.stagingDirectory }
    var location: String { inner.location }

    func publish(stagedFile: String, key: String) async throws {
        let count = lock.withLock { () -> Int in publishes += 1; return publishes }
        if count > failAfter {
            if failAfterRename { try await inner.publish(stagedFile: stagedFile, key: key) }
            throw StrataError.io(path: key, operation: "publish", reason: "injected failure")
        }
        try await inner.publish(stagedFile: stagedFile, key: key)
    }

    func remove(key: String) async throws { try await inner.remove(key: key) }
}
