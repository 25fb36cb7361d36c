import Foundation
import Strata
import StrataJSON

/// KurrentDB keeps a stream's metadata as events of the stream `$$<name>` (type `$metadata`, a
/// JSON object with `$maxCount`, `$maxAge`, `$tb` and custom keys); Strata keeps it as the
/// stream's ``StreamMetadata``. The gRPC surface shows the current metadata as that stream's
/// only event, at revision 0, and turns an append to it into ``EventStore/setStreamMetadata(_:_:)``
/// (docs/KURRENTDB.md, "Stream metadata").
enum MetadataStream {
    static let prefix = "$$"
    static let eventType = "$metadata"

    /// The stream whose metadata `stream` is, when it is a metadata stream.
    static func subject(of stream: String) -> String? {
        stream.hasPrefix(prefix) && stream.count > prefix.count ? String(stream.dropFirst(prefix.count)) : nil
    }

    /// The protocol's JSON object for Strata metadata. `$tb` is 0-based, Strata's
    /// `truncateBefore` 1-based; custom keys, `$acl` and `$cacheControl` included, come back as they were stored.
    static func json(_ metadata: StreamMetadata) -> Data {
        var members: [JSONMember] = []
        if let maxCount = metadata.maxCount { members.append(JSONMember("$maxCount", .integer(Int64(maxCount)))) }
        if let maxAge = metadata.maxAge {
            members.append(JSONMember("$maxAge", maxAge.rounded() == maxAge && abs(maxAge) < 9e15 ? .integer(Int64(maxAge)) : .number(maxAge)))
        }
        if let truncateBefore = metadata.truncateBefore {
            members.append(JSONMember("$tb", .integer(Int64(clamping: KurrentMapping.revision(truncateBefore)))))
        }
        if let custom = metadata.custom, case .object(let extra)? = try? JSONValue(parsing: custom) {
            members.append(contentsOf: extra)
        }
        return JSONValue.object(members).jsonData
    }

    /// Strata metadata from the protocol's JSON object.
    /// - Throws: `invalidEvent` when the data is not a JSON object or a reserved key has the wrong type.
    static func metadata(from data: Data, id: UUID) throws -> StreamMetadata {
        let idText = id.uuidString.lowercased()
        guard case .object(let members)? = try? JSONValue(parsing: data) else {
            throw StrataError.invalidEvent(id: idText, reason: "stream metadata must be a JSON object")
        }
        var metadata = StreamMetadata()
        var custom: [JSONMember] = []
        for member in members {
            switch member.key {
            case "$maxCount":
                guard let n = member.value.integerValue, n >= 0, let count = Int(exactly: n) else {
                    throw StrataError.invalidEvent(id: idText, reason: "$maxCount must be a non-negative integer")
                }
                metadata.maxCount = count
            case "$maxAge":
                guard let seconds = member.value.numberValue, seconds >= 0 else {
                    throw StrataError.invalidEvent(id: idText, reason: "$maxAge must be a non-negative number of seconds")
                }
                metadata.maxAge = seconds
            case "$tb":
                guard let n = member.value.integerValue, n >= 0 else {
                    throw StrataError.invalidEvent(id: idText, reason: "$tb must be a non-negative integer")
                }
                metadata.truncateBefore = KurrentMapping.strataRevision(UInt64(n))
            default:
                custom.append(member)
            }
        }
        if !custom.isEmpty { metadata.custom = JSONValue.object(custom).jsonData }
        return metadata
    }

    /// The metadata stream's one event, when the stream has metadata. Its id is derived from the
    /// stream's name and the metadata, so that rereading unchanged metadata gives the same id.
    static func event(stream: String, metadata: StreamMetadata) -> RecordedEvent? {
        guard !metadata.isEmpty else { return nil }
        let data = json(metadata)
        return RecordedEvent(id: derivedID(Array((prefix + stream).utf8) + [0] + Array(data)), stream: prefix + stream,
                             revision: 1, position: 0, recordedAtMicroseconds: 0,
                             type: eventType, contentType: .json, data: data, metadata: nil)
    }

    /// A version-4-shaped UUID from FNV-1a hashes of the bytes (not random, not secret).
    private static func derivedID(_ bytes: [UInt8]) -> UUID {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in bytes {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3 ^ (b >> 29)
        }
        var raw = withUnsafeBytes(of: a.bigEndian) { Array($0) } + withUnsafeBytes(of: b.bigEndian) { Array($0) }
        raw[6] = raw[6] & 0x0f | 0x40
        raw[8] = raw[8] & 0x3f | 0x80
        return raw.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}
