import Foundation
import Strata
import StrataJSON

/// `<ix>.head`: every main-stream entry up to ``sequence`` is fully indexed (docs/JETSTREAM.md,
/// "Index format, version 1").
struct IndexMarker: Codable, Sendable, Equatable {
    /// The last main-stream sequence indexed (0: none).
    var sequence: UInt64
    /// The head position as of ``sequence``.
    var head: UInt64
    /// The number of streams the store knows as of ``sequence``.
    var streams: UInt64
    /// The creation time of the main stream this index is of (its `created`, as the server
    /// reports it): an index left over from a deleted stream of the same name is refused.
    var store: String?

    init(sequence: UInt64, head: UInt64, streams: UInt64, store: String? = nil) {
        self.sequence = sequence
        self.head = head
        self.streams = streams
        self.store = store
    }

    static let empty = IndexMarker(sequence: 0, head: 0, streams: 0)
}

/// `<ix>.s.<token>`: one stream's state as of main sequence ``sequence``.
struct StreamRecord: Codable, Sendable, Equatable {
    /// The main sequence of the entry that made the stream known.
    var created: UInt64
    /// The main sequence this state is as of.
    var sequence: UInt64
    var lastRevision: UInt64 = 0
    var deletedThrough: UInt64 = 0
    var tombstoned = false
    var metadata: StreamMetadata?

    var exists: Bool { !tombstoned && lastRevision > deletedThrough }
    var writeState: StreamWriteState {
        StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned)
    }
}

/// Where one revision of a stream is: its position and the main sequence of its commit.
struct RevisionLocation: Sendable, Equatable {
    var position: UInt64
    var sequence: UInt64
}

/// One commit in a position chunk.
struct CommitSpan: Sendable, Equatable {
    var firstPosition: UInt64
    var count: UInt64
    var sequence: UInt64

    var lastPosition: UInt64 { firstPosition + count - 1 }
}

/// The binary and JSON values of the index's keys.
enum IndexFormat {
    /// The index format version, in the `Strata-Index` header of every index message.
    static let version = "1"
    static let header = "Strata-Index"
    /// Revisions per revision chunk, positions per position chunk.
    static let chunk: UInt64 = 256

    static func encode(_ marker: IndexMarker) -> [UInt8] {
        Array((try? StrataJSONEncoder().encode(marker)) ?? Data())
    }

    static func encode(_ record: StreamRecord) -> [UInt8] {
        Array((try? StrataJSONEncoder().encode(record)) ?? Data())
    }

    static func decodeMarker(_ bytes: [UInt8], where location: String) throws -> IndexMarker {
        do { return try StrataJSONDecoder().decode(IndexMarker.self, from: Data(bytes)) } catch {
            throw StrataError.corruption(path: location, offset: 0, reason: "an index marker that is not valid JSON: \(error)")
        }
    }

    static func decodeRecord(_ bytes: [UInt8], where location: String) throws -> StreamRecord {
        do { return try StrataJSONDecoder().decode(StreamRecord.self, from: Data(bytes)) } catch {
            throw StrataError.corruption(path: location, offset: 0, reason: "a stream record that is not valid JSON: \(error)")
        }
    }

    static func encode(_ revisions: [RevisionLocation]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(revisions.count * 16)
        for r in revisions {
            CommitFormat.put(r.position, 8, into: &out)
            CommitFormat.put(r.sequence, 8, into: &out)
        }
        return out
    }

    static func decodeRevisions(_ bytes: [UInt8], where location: String) throws -> [RevisionLocation] {
        guard bytes.count % 16 == 0, bytes.count / 16 <= Int(chunk) else {
            throw StrataError.corruption(path: location, offset: 0, reason: "a revision chunk of \(bytes.count) bytes")
        }
        var r = CommitFormat.Reader(bytes: bytes, location: location)
        var out: [RevisionLocation] = []
        out.reserveCapacity(bytes.count / 16)
        while !r.atEnd { out.append(RevisionLocation(position: try r.int(8), sequence: try r.int(8))) }
        return out
    }

    static func encode(_ spans: [CommitSpan]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(spans.count * 20)
        for s in spans {
            CommitFormat.put(s.firstPosition, 8, into: &out)
            CommitFormat.put(s.count, 4, into: &out)
            CommitFormat.put(s.sequence, 8, into: &out)
        }
        return out
    }

    static func decodeSpans(_ bytes: [UInt8], where location: String) throws -> [CommitSpan] {
        guard bytes.count % 20 == 0 else {
            throw StrataError.corruption(path: location, offset: 0, reason: "a position chunk of \(bytes.count) bytes")
        }
        var r = CommitFormat.Reader(bytes: bytes, location: location)
        var out: [CommitSpan] = []
        while !r.atEnd {
            let span = CommitSpan(firstPosition: try r.int(8), count: try r.int(4), sequence: try r.int(8))
            guard span.count > 0 else { throw r.corrupt("a commit of no events in a position chunk") }
            out.append(span)
        }
        return out
    }

    static func encodeID(_ location: EventLocation) -> [UInt8] {
        var out: [UInt8] = []
        CommitFormat.put(location.revision, 8, into: &out)
        CommitFormat.put(location.position, 8, into: &out)
        out.append(contentsOf: location.stream.utf8)
        return out
    }

    static func decodeID(_ bytes: [UInt8], where location: String) throws -> EventLocation {
        var r = CommitFormat.Reader(bytes: bytes, location: location)
        let revision = try r.int(8)
        let position = try r.int(8)
        guard let stream = String(validating: try r.bytes(r.remaining), as: UTF8.self) else {
            throw r.corrupt("an event id's stream is not UTF-8")
        }
        return EventLocation(stream: stream, revision: revision, position: position)
    }

    /// The streams an entry changes, in first-appearance order.
    static func streams(of entry: StoreEntry) -> [String] {
        switch entry {
        case .commit(_, _, let events):
            var seen = Set<String>()
            return events.compactMap { seen.insert($0.stream).inserted ? $0.stream : nil }
        case .delete(let stream, _), .metadata(let stream, _):
            return [stream]
        }
    }

    /// The stream records after entry `sequence`, checked against the records before it (`nil`:
    /// the stream was unknown) and the head before it. A record already at `sequence` or later
    /// (written by an earlier, interrupted indexing of this entry) is kept as is.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` when the entry does not continue
    ///   the store: a commit not at head + 1, a revision that is not its stream's next, a write to
    ///   a tombstoned stream.
    static func apply(_ entry: StoreEntry, sequence: UInt64, head: UInt64, records: [String: StreamRecord?],
                      location: String) throws -> [String: StreamRecord] {
        var out: [String: StreamRecord] = [:]
        func record(_ stream: String) -> StreamRecord {
            out[stream] ?? (records[stream] ?? nil) ?? StreamRecord(created: sequence, sequence: 0)
        }
        switch entry {
        case .commit(let first, _, let events):
            guard first == head + 1 else {
                throw StrataError.corruption(path: location, offset: 0, reason: "commit starts at position \(first), the head is \(head)")
            }
            for e in events {
                var r = record(e.stream)
                if r.sequence >= sequence { out[e.stream] = r; continue }
                guard e.revision == r.lastRevision + 1, !r.tombstoned else {
                    throw StrataError.corruption(path: location, offset: 0,
                                                 reason: "event \(e.event.id) has revision \(e.revision) in \(e.stream.debugDescription), expected \(r.lastRevision + 1)\(r.tombstoned ? " (the stream is tombstoned)" : "")")
                }
                r.lastRevision = e.revision
                out[e.stream] = r
            }
        case .delete(let stream, let mode):
            var r = record(stream)
            if r.sequence < sequence {
                switch mode {
                case .soft: r.deletedThrough = r.lastRevision
                case .tombstone: r.tombstoned = true
                }
            }
            out[stream] = r
        case .metadata(let stream, let metadata):
            var r = record(stream)
            if r.sequence < sequence { r.metadata = metadata == StreamMetadata() ? nil : metadata }
            out[stream] = r
        }
        for (name, r) in out where r.sequence < sequence {
            out[name]?.sequence = sequence
        }
        return out
    }
}
