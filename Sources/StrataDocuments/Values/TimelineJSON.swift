import Foundation
import Strata
import StrataJSON

// The JSON shapes of history versions, changes, restore reports and snapshots: the one
// encoding the HTTP API (docs/SERVER.md, "Documents") and `strata documents` (docs/CLI.md)
// share, written like `Document.json` (members sorted by key by the writer).

extension DocumentVersion.Operation {
    /// The operation's short name: `put`, `patch`, `delete`, `snapshot` or `purged` (the event
    /// type without its `document.` prefix).
    public var name: String { String(rawValue.dropFirst("document.".count)) }
}

extension DocumentVersion {
    /// `{"position", "revision", "timestamp", "operation", "data", "meta"}`: `operation` is the
    /// short name (``Operation/name``), `data` and `meta` are `null` after a delete or purge.
    public var json: DocumentValue {
        [
            "position": .int(Int64(clamping: position)),
            "revision": .int(Int64(clamping: revision)),
            "timestamp": .string(timestamp),
            "operation": .string(operation.name),
            "data": document?.data ?? .null,
            "meta": document?.meta.json ?? .null,
        ]
    }
}

extension CDCChange {
    /// dotdo's change object: `{"type", "collection", "docId", "doc"?, "prev"?, "bookmark", "ts",
    /// "source"?, "eventId"}` (absent members left out; `eventId` a lower-case UUID).
    public var json: DocumentValue {
        var members: [String: DocumentValue] = [
            "type": .string(type.rawValue),
            "collection": .string(collection),
            "docId": .string(docId),
            "bookmark": .int(Int64(clamping: bookmark)),
            "ts": .string(ts),
            "eventId": .string(eventId.uuidString.lowercased()),
        ]
        if let doc { members["doc"] = doc }
        if let prev { members["prev"] = prev }
        if let source { members["source"] = source.documentJSON }
        return .object(members)
    }
}

extension RestoreReport {
    /// `{"collections", "written", "deleted", "unchanged", "totalDocs", "position"?}` (`position`
    /// absent when nothing needed writing).
    public var json: DocumentValue {
        var members: [String: DocumentValue] = [
            "collections": .array(collections.map { .string($0) }),
            "written": .int(Int64(written)),
            "deleted": .int(Int64(deleted)),
            "unchanged": .int(Int64(unchanged)),
            "totalDocs": .int(Int64(totalDocs)),
        ]
        if let position { members["position"] = .int(Int64(clamping: position)) }
        return .object(members)
    }
}

extension SnapshotInfo {
    /// `{"key", "storeId", "timestamp", "collections", "totalDocs", "positions"}`.
    public var json: DocumentValue {
        [
            "key": .string(key),
            "storeId": .string(storeId),
            "timestamp": .string(timestamp),
            "collections": .array(collections.map { .string($0) }),
            "totalDocs": .int(Int64(totalDocs)),
            "positions": .object(positions.mapValues { .int(Int64(clamping: $0)) }),
        ]
    }
}

extension SnapshotEntry {
    /// `{"key", "timestamp", "bytes"}`.
    public var json: DocumentValue {
        ["key": .string(key), "timestamp": .string(timestamp), "bytes": .int(Int64(bytes))]
    }
}

extension PointInTime {
    /// Parses a point in time as the HTTP API's `at` and the CLI's `POINT` give it: digits are a
    /// `$all` position (``position(_:)``), anything else must be an ISO 8601 time with a zone
    /// (`2026-11-23T23:59:01.123Z`, fraction optional: ``time(_:)``).
    /// - Throws: `StrataError.invalidArgument(_:)` for anything else.
    public init(parsing text: String) throws {
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let position = UInt64(text) else {
                throw StrataError.invalidArgument("point in time \"\(text)\" is not a position: too large")
            }
            self = .position(position)
        } else if let microseconds = UTCTime.parseISO8601(text) {
            self = .time(Date(timeIntervalSince1970: Double(microseconds) / 1_000_000))
        } else {
            throw StrataError.invalidArgument("point in time \"\(text)\" is neither a position (digits) nor an ISO 8601 time such as 2026-11-23T23:59:01.123Z")
        }
    }
}
