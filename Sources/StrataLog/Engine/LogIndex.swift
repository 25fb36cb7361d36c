import Foundation
import StrataJSON
import Strata

/// One stream as the index knows it.
struct StreamEntry {
    let name: String
    /// Position of each revision: `positions[r - 1]`. Revisions are contiguous from 1.
    var positions: [UInt64] = []
    var deletedThrough: UInt64 = 0
    var tombstoned = false
    var metadata = StreamMetadata()

    init(name: String) { self.name = name }

    var lastRevision: UInt64 { UInt64(positions.count) }
    var exists: Bool { !tombstoned && lastRevision > deletedThrough }
    var writeState: StreamWriteState { StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned) }
}

/// The in-memory indexes of the log: segments with per-event offsets (position lookups), streams
/// with their revisions' positions (stream reads), and event ids (idempotency). Rebuilt from the
/// log when no valid checkpoint exists. Guarded by the engine's index lock.
final class LogIndex {
    var head: UInt64 = 0
    /// The oldest position still stored (retention drops whole segments before it).
    var firstPosition: UInt64 = 1
    var segments: [SegmentEntry] = []
    var streamIDs: [String: Int] = [:]
    var streams: [StreamEntry] = []
    var ids = IDTable()
    var lastRecordedAt: Int64 = 0
    /// Whether positions and revisions may skip (a scavenged store, manifest version 2): a
    /// version-1 store must have none, so a gap there is corruption.
    var allowsGaps = false
    private var sortedNamesCache: [String]?

    var lastSegment: SegmentEntry? { segments.last }

    // MARK: - Lookups

    func segmentIndex(containing position: UInt64) -> Int? {
        guard position >= firstPosition, position <= head, !segments.isEmpty else { return nil }
        var lo = 0
        var hi = segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if segments[mid].firstPosition <= position { lo = mid } else { hi = mid - 1 }
        }
        let s = segments[lo]
        return position >= s.firstPosition && position < s.firstPosition + UInt64(s.offsets.count) ? lo : nil
    }

    /// The segment and offset of an event, nil when the position is not stored.
    func location(of position: UInt64) -> (SegmentEntry, Int)? {
        guard let i = segmentIndex(containing: position) else { return nil }
        let s = segments[i]
        let offset = Int(s.offsets[Int(position - s.firstPosition)])
        return offset == 0 ? nil : (s, offset)
    }

    func record(at position: UInt64) throws -> RecordView? {
        guard let (segment, offset) = location(of: position) else { return nil }
        return try segment.record(at: offset)
    }

    func stream(_ name: String) -> StreamEntry? {
        streamIDs[name].map { streams[$0] }
    }

    func writeState(of name: String) -> StreamWriteState {
        if let last = lastStream, last.name == name { return streams[last.id].writeState }
        return stream(name)?.writeState ?? .new
    }

    /// Where an event id was stored (confirmed against the log), or nil.
    func location(ofEvent id: UUID) throws -> EventLocation? {
        var found: RecordView?
        _ = try ids.firstPosition(for: id) { position in
            guard let view = try record(at: position), view.id == id else { return false }
            found = view
            return true
        }
        guard let view = found else { return nil }
        return EventLocation(stream: view.streamName, revision: view.revision, position: view.position)
    }

    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        var p = Swift.max(position + 1, firstPosition)
        while p <= head {
            if let view = try record(at: p) {
                let type = view.typeName
                if query.matches(type: type, metadata: { EventTags.parse(view.metadataLength == 0 ? nil : Data(view.metadata)) }) {
                    return p
                }
            }
            p += 1
        }
        return nil
    }

    /// Existing stream names in listing order, cached until a stream is created or deleted.
    func sortedStreamNames() -> [String] {
        if let cached = sortedNamesCache { return cached }
        let names = streams.filter(\.exists).map(\.name).sorted(by: StreamOrder.less)
        sortedNamesCache = names
        return names
    }

    /// Drops the lookup cache (when the stream table is replaced).
    func forgetLastStream() { lastStream = nil }

    // MARK: - Applying records

    /// The last stream looked up: batches usually append many events to one stream.
    private var lastStream: (name: String, id: Int)?

    private func streamID(_ name: String) -> Int {
        if let last = lastStream, last.name == name { return last.id }
        if let id = streamIDs[name] { lastStream = (name, id); return id }
        let id = streams.count
        streams.append(StreamEntry(name: name))
        streamIDs[name] = id
        lastStream = (name, id)
        return id
    }

    /// Adds an event written at `offset` of the last segment.
    func addEvent(stream name: String, revision: UInt64, position: UInt64, id: UUID, offset: Int, recordedAt: Int64,
                  segment: SegmentEntry) {
        precondition(position == head + 1, "positions must be contiguous: \(position) after \(head)")
        let sid = streamID(name)
        precondition(revision == streams[sid].lastRevision + 1, "revisions must be contiguous in \(name)")
        if !streams[sid].exists { sortedNamesCache = nil }
        streams[sid].positions.append(position)
        ids.insert(id, position: position)
        segment.offsets.append(UInt32(offset))
        segment.lastRecordedAt = recordedAt
        head = position
        lastRecordedAt = Swift.max(lastRecordedAt, recordedAt)
    }

    /// Applies a control record (metadata, soft delete, tombstone).
    func applyControl(kind: RecordKind, stream name: String, revision: UInt64, payload: Data, custom: Data?) throws {
        let sid = streamID(name)
        switch kind {
        case .streamMetadata:
            var metadata = try StreamMetadataCoding.decode(payload)
            metadata.custom = custom
            streams[sid].metadata = metadata
        case .streamSoftDelete:
            streams[sid].deletedThrough = revision
        case .streamTombstone:
            streams[sid].tombstoned = true
        case .streamRevision:
            let have = streams[sid].lastRevision
            if revision > have {
                streams[sid].positions.append(contentsOf: repeatElement(0, count: Int(revision - have)))
            }
        case .event:
            preconditionFailure("events are not control records")
        }
        sortedNamesCache = nil
    }

    /// Applies a record read back from a segment (open, rebuild, or another process's appends),
    /// checking the log's invariants; a violation is corruption at that record.
    func apply(_ view: RecordView, in segment: SegmentEntry) throws {
        switch view.kind {
        case .event:
            let name = view.streamName
            let known = streamIDs[name].map { streams[$0] }
            var expectedRevision = (known?.lastRevision ?? 0) + 1
            // Retention dropped the segments before `firstPosition`, or a scavenge removed
            // events: a stream continues at a higher revision. Its missing revisions get
            // position 0, which no read returns.
            if view.revision > expectedRevision,
               allowsGaps || (firstPosition > 1 && (known?.positions.last ?? 0) < firstPosition) {
                let sid = streamID(name)
                streams[sid].positions.append(contentsOf: repeatElement(0, count: Int(view.revision - expectedRevision)))
                expectedRevision = view.revision
            }
            let slot = segment.firstPosition + UInt64(segment.offsets.count)
            let inOrder = allowsGaps
                ? view.position > head && view.position >= slot
                : (view.position == head + 1 || (head == 0 && view.position == firstPosition && firstPosition > 1)) && view.position == slot
            guard inOrder, view.revision == expectedRevision else {
                throw StrataError.corruption(path: segment.path, offset: Int64(view.offset),
                                             reason: "event at position \(view.position), revision \(view.revision) of \(name) breaks the log's order (expected position \(head + 1), revision \(expectedRevision))")
            }
            if view.position > slot { segment.offsets.append(contentsOf: repeatElement(0, count: Int(view.position - slot))) }
            if view.position > head + 1 { head = view.position - 1 }
            addEvent(stream: name, revision: view.revision, position: view.position, id: view.id, offset: view.offset,
                     recordedAt: view.recordedAtMicros, segment: segment)
        default:
            try applyControl(kind: view.kind, stream: view.streamName, revision: view.revision, payload: Data(view.data),
                             custom: view.metadataLength == 0 ? nil : Data(view.metadata))
        }
    }
}

/// The JSON form of stream metadata inside a control record (docs/FORMAT.md): the record's data
/// is `{"maxCount":N,"maxAge":SECONDS,"truncateBefore":N}` (each key optional) and its metadata
/// field holds the custom JSON object's bytes unchanged.
enum StreamMetadataCoding {
    static func encode(_ m: StreamMetadata) -> Data {
        var parts: [String] = []
        if let v = m.maxCount { parts.append("\"maxCount\":\(v)") }
        if let v = m.maxAge { parts.append("\"maxAge\":\(v)") }
        if let v = m.truncateBefore { parts.append("\"truncateBefore\":\(v)") }
        return Data(("{" + parts.joined(separator: ",") + "}").utf8)
    }

    static func decode(_ data: Data) throws -> StreamMetadata {
        guard let object = try? JSONValue(parsing: data), case .object = object else {
            throw StrataError.corruption(path: "stream metadata record", offset: 0, reason: "its data is not a JSON object")
        }
        var m = StreamMetadata()
        m.maxCount = object["maxCount"]?.integerValue.map(Int.init)
        m.maxAge = object["maxAge"]?.numberValue
        m.truncateBefore = object["truncateBefore"]?.integerValue.flatMap(UInt64.init(exactly:))
        return m
    }
}
