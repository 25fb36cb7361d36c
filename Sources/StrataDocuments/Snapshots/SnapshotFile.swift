import Foundation
@_spi(Machinery) import Strata
import StrataJSON

/// The snapshot file format (version 1, see docs/CDC.md) and its keys.
///
/// A key is `snapshots/<storeId>/<YYYY-MM-DDTHH-MM-SS-mmmZ>.json`, relative to the root
/// directory; the file holds dotdo's shape plus `version` and `positions`:
///
/// ```
/// {"collections":["users"],"data":{"users":[{"_id":"ada","id":"ada","name":"Ada"}]},"id":"shop-1",
///  "positions":{"users":42},"timestamp":"2026-11-23T23:59:01.123Z","totalDocs":1,"version":1}
/// ```
enum SnapshotFile {
    static let version: Int64 = 1
    static let directory = "snapshots"
    static let maxStoreIdBytes = 128

    /// A decoded snapshot.
    struct Contents {
        var id: String
        var timestamp: String
        var collections: [String]
        var data: [String: [String: DocumentValue]]
        var positions: [String: UInt64]
        var totalDocs: Int { data.values.reduce(0) { $0 + $1.count } }
    }

    /// Checks a store id: 1–128 bytes of `[A-Za-z0-9._-]`, not starting with `.` — exactly the
    /// names `SafeFileName` leaves as they are, so it is one path component and never `..`.
    static func validateStoreId(_ storeId: String) throws {
        guard !storeId.isEmpty, storeId.utf8.count <= maxStoreIdBytes, SafeFileName.encode(storeId) == storeId else {
            throw StrataError.invalidArgument("snapshot store id \"\(storeId)\" must be 1–\(maxStoreIdBytes) bytes of letters, digits, '.', '_' and '-', not starting with '.'")
        }
    }

    /// The file name of a snapshot taken at `milliseconds` (UTC): `2026-11-23T23-59-01-123Z.json`.
    static func fileName(milliseconds: Int64) -> String {
        String(UTCTime.iso8601(milliseconds &* 1000, fractionDigits: 3).map { $0 == ":" || $0 == "." ? "-" : $0 }) + ".json"
    }

    /// The ISO 8601 timestamp a file name encodes, or `nil` when it is not a snapshot file name.
    static func timestamp(fileName: String) -> String? {
        let bytes = Array(fileName.utf8)
        // YYYY-MM-DDTHH-MM-SS-mmmZ.json
        guard bytes.count == 29, fileName.hasSuffix("Z.json") else { return nil }
        let dashes: Set<Int> = [4, 7, 13, 16, 19]
        for (i, b) in bytes.prefix(23).enumerated() {
            if dashes.contains(i) { guard b == UInt8(ascii: "-") else { return nil } }
            else if i == 10 { guard b == UInt8(ascii: "T") else { return nil } }
            else { guard b >= 0x30 && b <= 0x39 else { return nil } }
        }
        var text = Array(fileName.prefix(24))
        text[13] = ":"; text[16] = ":"; text[19] = "."
        return String(text)
    }

    /// Splits a key into its store id and file name.
    /// - Throws: `StrataError.invalidArgument(_:)` for anything but
    ///   `snapshots/<storeId>/<timestamp>.json` (so `..`, absolute paths and extra components are refused).
    static func parseKey(_ key: String) throws -> (storeId: String, fileName: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == directory, timestamp(fileName: parts[2]) != nil,
              (try? validateStoreId(parts[1])) != nil else {
            throw StrataError.invalidArgument("\"\(key)\" is not a snapshot key (snapshots/<storeId>/<YYYY-MM-DDTHH-MM-SS-mmmZ>.json)")
        }
        return (parts[1], parts[2])
    }

    static func encode(_ contents: Contents) -> [UInt8] {
        var data: [String: DocumentValue] = [:]
        for (collection, documents) in contents.data {
            data[collection] = .array(documents.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { key in
                var entry = documents[key]!.objectValue ?? [:]
                entry["_id"] = .string(key)
                return .object(entry)
            })
        }
        let value: DocumentValue = .object([
            "version": .int(version),
            "id": .string(contents.id),
            "timestamp": .string(contents.timestamp),
            "collections": .array(contents.collections.map { .string($0) }),
            "totalDocs": .int(Int64(contents.totalDocs)),
            "positions": .object(contents.positions.mapValues { .int(Int64($0)) }),
            "data": .object(data),
        ])
        return value.jsonBytes
    }

    /// Decodes a snapshot file. A file without `version` is read as version 1 (dotdo writes none).
    /// - Throws: `StrataError.corruption(path:offset:reason:)` for a file that is not a
    ///   valid snapshot, `StrataError.unsupportedFormat(path:found:supported:)` for another version.
    static func decode(_ bytes: Data, path: String) throws -> Contents {
        func corrupt(_ reason: String) -> StrataError { .corruption(path: path, offset: 0, reason: reason) }
        let value: DocumentValue
        do { value = try DocumentValue.parse(bytes) } catch { throw corrupt("not JSON: \(error)") }
        guard case .object(let members) = value else { throw corrupt("not a JSON object") }
        if let found = members["version"], found.intValue != version {
            throw StrataError.unsupportedFormat(path: path, found: "snapshot version \(found)", supported: "snapshot version \(version)")
        }
        guard case .array(let names)? = members["collections"] else { throw corrupt("collections is missing or not an array") }
        var collections: [String] = []
        for name in names {
            guard case .string(let name) = name, (try? DocumentNaming.validateCollection(name)) != nil else {
                throw corrupt("collections holds \(name), not a collection name")
            }
            collections.append(name)
        }
        guard Set(collections).count == collections.count else { throw corrupt("collections names a collection twice") }
        // A restore deletes what the file does not hold: a file without its data must not pass for an empty one.
        guard let dataMembers = members["data"]?.objectValue else { throw corrupt("data is missing or not an object") }
        var data: [String: [String: DocumentValue]] = [:]
        for collection in collections { data[collection] = [:] }
        for (collection, documents) in dataMembers {
            guard data[collection] != nil else { throw corrupt("data holds collection \(collection), which collections does not list") }
            guard case .array(let items) = documents else { throw corrupt("data.\(collection) is not an array") }
            for item in items {
                guard case .object(var fields) = item, case .string(let key)? = fields.removeValue(forKey: "_id"), !key.isEmpty else {
                    throw corrupt("a document of \(collection) is not an object with a string _id")
                }
                guard data[collection]![key] == nil else { throw corrupt("\(collection) holds _id \"\(key)\" twice") }
                data[collection]![key] = .object(fields)
            }
        }
        let count = data.values.reduce(0) { $0 + $1.count }
        if let total = members["totalDocs"], total.intValue != Int64(count) {
            throw corrupt("totalDocs is \(total) but data holds \(count) documents")
        }
        var positions: [String: UInt64] = [:]
        for (name, position) in members["positions"]?.objectValue ?? [:] {
            if let p = position.intValue, p >= 0 { positions[name] = UInt64(p) }
        }
        return Contents(id: members["id"]?.stringValue ?? "", timestamp: members["timestamp"]?.stringValue ?? "",
                        collections: collections, data: data, positions: positions)
    }
}
