import Foundation
import Strata
import StrataNATS
import StrataJSON

/// One entry of the store's JetStream stream (docs/JETSTREAM.md, entry formats 1 and 2). Every change of the
/// store is one message: a commit of one or more appends, a stream deletion, or stream metadata.
enum StoreEntry: Sendable, Equatable {
    /// Events with contiguous positions from `firstPosition`, recorded at one time.
    case commit(firstPosition: UInt64, recordedAtMicros: Int64, events: [CommittedEvent])
    /// A soft delete or a tombstone.
    case delete(stream: String, mode: DeleteMode)
    /// New stream metadata.
    case metadata(stream: String, StreamMetadata)
}

extension StoreEntry {
    /// The head position after this entry, written on `head`.
    func head(after head: UInt64) -> UInt64 {
        if case .commit(let first, _, let events) = self { return first + UInt64(events.count) - 1 }
        return head
    }

    /// The stream a delete or a metadata change is about.
    var changedStream: String? {
        switch self {
        case .commit: return nil
        case .delete(let stream, _), .metadata(let stream, _): return stream
        }
    }
}

/// One event inside a commit: its stream and revision travel with it; its position is the
/// commit's first position plus its index.
struct CommittedEvent: Sendable, Equatable {
    var stream: String
    var revision: UInt64
    var event: EventData
}

/// Encodes and decodes ``StoreEntry`` messages: headers plus a little-endian binary body.
enum CommitFormat {
    /// The format version this build writes, in the `Strata-Format` header.
    static let version = "2"
    /// The versions this build reads: 1 (no `Strata-Head`) and 2.
    static let readable: Set<String> = ["1", "2"]
    /// Format 2: the head position after the entry.
    static let headHeader = "Strata-Head"
    static let formatHeader = "Strata-Format"
    static let kindHeader = "Strata-Kind"
    static let firstPositionHeader = "Strata-First-Position"
    static let countHeader = "Strata-Events"

    /// Bytes a commit adds around its events' own bytes (headers and fixed fields), for batching.
    static let entryOverhead = 512

    /// The bytes one event takes in a commit body.
    static func encodedSize(stream: String, event: EventData) -> Int {
        2 + stream.utf8.count + 8 + 16 + 1 + event.type.utf8.count + 1 + event.contentType.rawValue.utf8.count
            + 4 + (event.metadata?.count ?? 0) + 4 + event.data.count
    }

    /// The headers and body of an entry written on head position `head` (the head before it).
    static func encode(_ entry: StoreEntry, head: UInt64) -> (NATSHeaders, [UInt8]) {
        var headers = NATSHeaders()
        headers[formatHeader] = version
        headers[headHeader] = String(entry.head(after: head))
        var body: [UInt8] = []
        switch entry {
        case .commit(let first, let recordedAt, let events):
            headers[kindHeader] = "commit"
            headers[firstPositionHeader] = String(first)
            headers[countHeader] = String(events.count)
            body.reserveCapacity(12 + events.reduce(0) { $0 + encodedSize(stream: $1.stream, event: $1.event) })
            put(UInt64(bitPattern: recordedAt), 8, into: &body)
            put(UInt64(events.count), 4, into: &body)
            for e in events {
                putBytes(Array(e.stream.utf8), lengthBytes: 2, into: &body)
                put(e.revision, 8, into: &body)
                let u = e.event.id.uuid
                body.append(contentsOf: [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15])
                putBytes(Array(e.event.type.utf8), lengthBytes: 1, into: &body)
                putBytes(Array(e.event.contentType.rawValue.utf8), lengthBytes: 1, into: &body)
                if let m = e.event.metadata {
                    put(UInt64(m.count) + 1, 4, into: &body)
                    body.append(contentsOf: m)
                } else {
                    put(0, 4, into: &body)
                }
                putBytes(Array(e.event.data), lengthBytes: 4, into: &body)
            }
        case .delete(let stream, let mode):
            headers[kindHeader] = "delete"
            body.append(mode == .soft ? 1 : 2)
            putBytes(Array(stream.utf8), lengthBytes: 2, into: &body)
        case .metadata(let stream, let metadata):
            headers[kindHeader] = "metadata"
            putBytes(Array(stream.utf8), lengthBytes: 2, into: &body)
            body.append(contentsOf: (try? StrataJSONEncoder().encode(metadata)) ?? Data("{}".utf8))
        }
        return (headers, body)
    }

    /// Decodes an entry.
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` for another format
    ///   version, ``StrataError/corruption(path:offset:reason:)`` for malformed bytes.
    static func decode(headers: NATSHeaders?, body: [UInt8], where location: String) throws -> StoreEntry {
        let found = headers?[formatHeader] ?? "none"
        guard readable.contains(found) else {
            throw StrataError.unsupportedFormat(path: location, found: "Strata-Format \(found)", supported: "Strata-Format 1 or 2")
        }
        var r = Reader(bytes: body, location: location)
        switch headers?[kindHeader] {
        case "commit":
            guard let first = headers?[firstPositionHeader].flatMap(UInt64.init), first > 0 else {
                throw StrataError.corruption(path: location, offset: 0, reason: "a commit without a valid \(firstPositionHeader) header")
            }
            let recordedAt = Int64(bitPattern: try r.int(8))
            let count = Int(try r.int(4))
            guard count > 0, count <= body.count else { throw r.corrupt("a commit with \(count) events") }
            var events: [CommittedEvent] = []
            events.reserveCapacity(count)
            for _ in 0 ..< count {
                let stream = try r.string(lengthBytes: 2)
                let revision = try r.int(8)
                let idBytes = try r.bytes(16)
                let id = idBytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
                let type = try r.string(lengthBytes: 1)
                let contentType = try r.string(lengthBytes: 1)
                let metaLength = try r.int(4)
                let metadata = metaLength == 0 ? nil : Data(try r.bytes(Int(metaLength - 1)))
                let data = Data(try r.bytes(Int(try r.int(4))))
                events.append(CommittedEvent(stream: stream, revision: revision,
                                             event: EventData(id: id, type: type, data: data, contentType: ContentType(contentType), metadata: metadata)))
            }
            guard r.atEnd else { throw r.corrupt("bytes after the last event") }
            if let n = headers?[countHeader].flatMap(Int.init), n != count { throw r.corrupt("\(countHeader) says \(n), the body holds \(count)") }
            return .commit(firstPosition: first, recordedAtMicros: recordedAt, events: events)
        case "delete":
            let mode = try r.int(1)
            let stream = try r.string(lengthBytes: 2)
            guard mode == 1 || mode == 2, r.atEnd else { throw r.corrupt("a malformed delete entry") }
            return .delete(stream: stream, mode: mode == 1 ? .soft : .tombstone)
        case "metadata":
            let stream = try r.string(lengthBytes: 2)
            do {
                return .metadata(stream: stream, try StrataJSONDecoder().decode(StreamMetadata.self, from: Data(try r.bytes(r.remaining))))
            } catch let e as StrataError {
                throw e
            } catch {
                throw r.corrupt("stream metadata is not valid JSON: \(error)")
            }
        case let kind:
            throw StrataError.corruption(path: location, offset: 0, reason: "unknown \(kindHeader) \(kind ?? "none")")
        }
    }

    /// The head position after an entry, from its headers alone (a headers-only delivery):
    /// `Strata-Head` (format 2), or a format-1 commit's first position and count; `nil` for a
    /// format-1 delete or metadata change, which do not say.
    static func head(from headers: NATSHeaders?) -> UInt64? {
        if let h = headers?[headHeader].flatMap(UInt64.init) { return h }
        guard headers?[kindHeader] == "commit", let first = headers?[firstPositionHeader].flatMap(UInt64.init),
              let n = headers?[countHeader].flatMap(UInt64.init), n > 0 else { return nil }
        return first + n - 1
    }

    static func put(_ value: UInt64, _ width: Int, into out: inout [UInt8]) {
        var v = value
        for _ in 0 ..< width {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    private static func putBytes(_ bytes: [UInt8], lengthBytes: Int, into out: inout [UInt8]) {
        put(UInt64(bytes.count), lengthBytes, into: &out)
        out.append(contentsOf: bytes)
    }

    struct Reader {
        let bytes: [UInt8]
        let location: String
        var offset = 0

        init(bytes: [UInt8], location: String) {
            self.bytes = bytes
            self.location = location
        }

        var atEnd: Bool { offset == bytes.count }
        var remaining: Int { bytes.count - offset }

        func corrupt(_ reason: String) -> StrataError {
            StrataError.corruption(path: location, offset: Int64(offset), reason: reason)
        }

        mutating func int(_ width: Int) throws -> UInt64 {
            guard remaining >= width else { throw corrupt("the entry ends inside a \(width)-byte integer") }
            var v: UInt64 = 0
            for i in 0 ..< width { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += width
            return v
        }

        mutating func bytes(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, remaining >= n else { throw corrupt("the entry ends inside a \(n)-byte field") }
            defer { offset += n }
            return bytes[offset ..< offset + n]
        }

        mutating func string(lengthBytes: Int) throws -> String {
            let n = Int(try int(lengthBytes))
            let b = try bytes(n)
            guard let s = String(validating: b, as: UTF8.self) else { throw corrupt("a name is not UTF-8") }
            return s
        }
    }
}

/// How Strata stream names become subject tokens: base64url (RFC 4648 §5) of the name's UTF-8
/// bytes, without padding. The alphabet `A-Z a-z 0-9 - _` has no `.`, `*`, `>` or white space,
/// so any stream name is one safe token, and the mapping is reversible.
public enum SubjectEncoding {
    /// The token for a stream name.
    public static func token(for stream: String) -> String {
        var s = Data(stream.utf8).base64EncodedString()
        while s.hasSuffix("=") { s.removeLast() }
        return String(s.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// The stream name of a token, or `nil` when it is not one.
    public static func stream(for token: String) -> String? {
        var s = String(token.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while s.count % 4 != 0 { s.append("=") }
        return Data(base64Encoded: s).flatMap { String(data: $0, encoding: .utf8) }
    }
}
