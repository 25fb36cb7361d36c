import Foundation
import Strata

/// The events a document's stream holds (payload format version 1, see docs/DOCUMENTS.md).
///
/// | type | payload |
/// | --- | --- |
/// | `document.put` | `{"v":1,"key":K,"data":{…}}` |
/// | `document.patch` | `{"v":1,"key":K,"patch":{…}}` (JSON merge patch, RFC 7396) |
/// | `document.delete` | `{"v":1,"key":K}` |
/// | `document.snapshot` | `{"v":1,"key":K,"data":{…},"changes":N,"created":ms,"modified":ms}` (ms since 1970, UTC) |
/// | `document.purged` | `{"v":1,"key":K}` |
enum DocumentEvents {
    static let put = "document.put"
    static let patch = "document.patch"
    static let delete = "document.delete"
    static let snapshot = "document.snapshot"
    static let purged = "document.purged"
    static let all = [put, patch, delete, snapshot, purged]
    static let version: Int64 = 1

    /// A decoded document event.
    enum Operation: Sendable {
        case put(DocumentValue)
        case patch(DocumentValue)
        case delete
        case snapshot(DocumentValue, changes: Int, created: Int64, modified: Int64)
        case purged
    }

    static func encode(key: String, _ operation: Operation) -> EventData {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        out.append(contentsOf: Array(#"{"v":1,"key":"#.utf8))
        DocumentJSON.writeString(key, into: &out)
        let type: String
        switch operation {
        case .put(let data):
            type = put
            out.append(contentsOf: Array(#","data":"#.utf8))
            // The stored document always carries its id.
            DocumentJSON.writeObject(data.objectValue ?? [:], addingID: key, into: &out)
        case .patch(let patch):
            type = DocumentEvents.patch
            out.append(contentsOf: Array(#","patch":"#.utf8))
            DocumentJSON.write(patch, into: &out)
        case .delete:
            type = delete
        case .snapshot(let data, let changes, let created, let modified):
            type = snapshot
            out.append(contentsOf: Array(#","data":"#.utf8))
            DocumentJSON.write(data, into: &out)
            out.append(contentsOf: Array(#","changes":"#.utf8))
            DocumentJSON.writeInt(Int64(changes), into: &out)
            out.append(contentsOf: Array(#","created":"#.utf8))
            DocumentJSON.writeInt(created, into: &out)
            out.append(contentsOf: Array(#","modified":"#.utf8))
            DocumentJSON.writeInt(modified, into: &out)
        case .purged:
            type = purged
        }
        out.append(UInt8(ascii: "}"))
        return EventData(type: type, data: Data(out))
    }

    /// Decodes an event of a collection's stream.
    /// - Throws: `StrataError.eventDecodingFailed(position:type:field:reason:)` for a
    ///   payload that is not a version-1 document event or whose key does not belong to its stream.
    static func decode(_ event: RecordedEvent, collection: String) throws -> (key: String, operation: Operation) {
        func failure(_ field: String, _ reason: String) -> StrataError {
            .eventDecodingFailed(position: event.position, type: event.type, field: field, reason: reason)
        }
        let payload: DocumentValue
        do { payload = try DocumentJSON.parse(event.data) } catch { throw failure("", "\(error)") }
        guard case .object(let members) = payload else { throw failure("", "not a JSON object") }
        guard members["v"]?.intValue == version else {
            throw failure("v", "unsupported document event version \(members["v"].map { "\($0)" } ?? "none"); this build reads version \(version)")
        }
        guard case .string(let key)? = members["key"] else { throw failure("key", "missing") }
        guard DocumentNaming.isStream(event.stream, collection: collection, key: key) else {
            throw failure("key", "key \"\(key)\" does not belong to stream \"\(event.stream)\"")
        }
        func object(_ name: String) throws -> DocumentValue {
            guard let value = members[name], case .object = value else { throw failure(name, "missing or not an object") }
            return value
        }
        func integer(_ name: String) throws -> Int64 {
            guard let value = members[name]?.intValue else { throw failure(name, "missing or not an integer") }
            return value
        }
        switch event.type {
        case put: return (key, .put(try object("data")))
        case patch: return (key, .patch(try object("patch")))
        case delete: return (key, .delete)
        case snapshot:
            return (key, .snapshot(try object("data"), changes: Int(try integer("changes")),
                                   created: try integer("created"), modified: try integer("modified")))
        case purged: return (key, .purged)
        default: throw failure("", "not a document event type")
        }
    }

    /// RFC 7396 JSON merge patch: object members merge recursively, `null` removes a member,
    /// anything else (arrays included) replaces.
    static func mergePatch(_ target: DocumentValue, _ patch: DocumentValue) -> DocumentValue {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchMembers {
            if value.isNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }
}
