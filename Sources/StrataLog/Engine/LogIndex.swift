import Foundation
import StrataJSON
import Strata

/// One stream as the index knows it.
struct StreamEntry {
    let name: String
    /// The stream-name hash of index files (`StreamNameHash`).
    let hash: UInt64
    /// The stream's last revision (revisions are contiguous from 1; some may have no stored event).
    private(set) var lastRevision: UInt64 = 0
    /// Positions of the newest revisions whose events are not in an index file yet:
    /// `recent[i]` is revision `lastRevision - recent.count + 1 + i`'s position (0: no stored
    /// event). Older revisions are looked up in the sealed segments' index files.
    private(set) var recent: [UInt64] = []
    /// The position of the newest stored event (0: none).
    private(set) var lastPosition: UInt64 = 0
    var deletedThrough: UInt64 = 0
    var tombstoned = false
    var metadata = StreamMetadata()

    init(name: String) {
        self.name = name
        self.hash = StreamNameHash.hash(name)
    }

    /// A stream loaded from the index checkpoint.
    init(name: String, lastRevision: UInt64, lastPosition: UInt64, recent: [UInt64]) {
        self.init(name: name)
        self.lastRevision = lastRevision
        self.lastPosition = lastPosition
        self.recent = recent
    }

    var exists: Bool { !tombstoned && lastRevision > deletedThrough }
    var writeState: StreamWriteState { StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned) }
    /// The first revision `recent` covers.
    var firstRecentRevision: UInt64 { lastRevision - UInt64(recent.count) + 1 }

    /// Appends the next revision, stored at `position`.
    mutating func append(position: UInt64) {
        lastRevision += 1
        recent.append(position)
        lastPosition = position
    }

    /// Raises the last revision to `revision`: the revisions in between have no stored event.
    mutating func skip(to revision: UInt64) {
        guard revision > lastRevision else { return }
        // Zeros keep `recent` contiguous; with nothing recent there is nothing to keep contiguous.
        if !recent.isEmpty { recent.append(contentsOf: repeatElement(0, count: Int(revision - lastRevision))) }
        lastRevision = revision
    }

    /// Forgets the recent positions up to `position` (their segment's index file now holds them).
    mutating func dropRecent(through position: UInt64) {
        var n = 0
        while n < recent.count, recent[n] <= position { n += 1 }
        if n == recent.count { recent = [] } else if n > 0 { recent.removeFirst(n) }
    }
}

/// The indexes of the log: segments with per-event offsets (position lookups), streams with
/// their revisions' positions (stream reads), and event ids (idempotency). Sealed segments'
/// parts live in their index files (`SegmentIndexFile`); what is in memory is the newest
/// segment's (and not yet indexed sealed segments') parts and each stream's state
/// (docs/ENGINE.md, "Indexes"). Rebuilt from the log when no valid
/// checkpoint exists. Guarded by the engine's index lock.
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
        return position >= s.firstPosition && position < s.firstPosition + UInt64(s.eventCount) ? lo : nil
    }

    /// The segment and offset of an event, nil when the position is not stored.
    func location(of position: UInt64) -> (SegmentEntry, Int)? {
        guard let i = segmentIndex(containing: position) else { return nil }
        let s = segments[i]
        let offset = Int(s.offset(at: Int(position - s.firstPosition)))
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

    /// Where an event id was stored (confirmed against the log), or nil: the in-memory table
    /// holds the ids of segments without an index file; the others are looked up in their index
    /// files, newest first, skipping those whose bloom filter rules the id out.
    func location(ofEvent id: UUID) throws -> EventLocation? {
        var found: RecordView?
        let confirm: (UInt64) throws -> Bool = { position in
            guard let view = try self.record(at: position), view.id == id else { return false }
            found = view
            return true
        }
        if try ids.firstPosition(for: id, where: confirm) == nil {
            let hash = IDTable.hash(id)
            for segment in segments.reversed() {
                guard let table = segment.table else { continue }
                if try table.positions(ofIDHash: hash, where: confirm) { break }
            }
        }
        guard let view = found else { return nil }
        return EventLocation(stream: view.streamName, revision: view.revision, position: view.position)
    }

    /// Touches, in every index file, the bloom blocks of these ids: one pass of independent
    /// loads whose cache misses overlap, before the lookups probe them one by one.
    func prefetchSealed(_ ids: [UUID]) {
        guard ids.count > 1, segments.first?.table != nil else { return }
        let hashes = ids.map(IDTable.hash)
        var sink: UInt64 = 0
        for segment in segments { if let table = segment.table { sink &+= table.prefetchIDs(hashes) } }
        IDTable.keep(sink)
    }

    /// The (revision, position) of a stream's stored events with revisions in `range`, in
    /// revision order (descending when `backward`), at most `limit`: from the index files of
    /// sealed segments, then from the stream's recent positions. Under a stream-hash collision,
    /// entries of another stream may appear: readers confirm the record's stream name.
    func storedRevisions(of stream: StreamEntry, in range: ClosedRange<UInt64>, backward: Bool, limit: Int) -> [(revision: UInt64, position: UInt64)] {
        var out: [(revision: UInt64, position: UInt64)] = []
        guard limit > 0 else { return out }
        let firstRecent = stream.firstRecentRevision
        func fromRecent() {
            guard range.upperBound >= firstRecent, !stream.recent.isEmpty else { return }
            let lo = Swift.max(range.lowerBound, firstRecent)
            let hi = Swift.min(range.upperBound, stream.lastRevision)
            guard lo <= hi else { return }
            var r = backward ? hi : lo
            while lo <= r && r <= hi && out.count < limit {
                let p = stream.recent[Int(r - firstRecent)]
                if p != 0 && p >= firstPosition { out.append((r, p)) }
                if backward { if r == 0 { break }; r -= 1 } else { r += 1 }
            }
        }
        func fromTables() {
            guard range.lowerBound < firstRecent else { return }
            let tableRange = range.lowerBound...Swift.min(range.upperBound, firstRecent - 1)
            let tables = segments.compactMap(\.table)
            for table in backward ? tables.reversed() : tables {
                if out.count >= limit { return }
                out += table.streamEntries(hash: stream.hash, revisions: tableRange, backward: backward, limit: limit - out.count)
            }
        }
        if backward { fromRecent(); fromTables() } else { fromTables(); fromRecent() }
        return out
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

    /// Streams whose `recent` is not empty (those an index file installation trims).
    var streamsWithRecent: Set<Int> = []

    /// Installs a sealed segment's index file: its offsets, ids and stream revisions are then
    /// looked up in the file and dropped from memory. Segments are installed oldest first, so
    /// the indexed segments are always the oldest ones.
    func install(_ table: SegmentIndexFile, in segment: SegmentEntry) {
        precondition(segment.table == nil && table.firstPosition == segment.firstPosition && table.generation == segment.generation,
                     "an index file for another segment")
        precondition(segments.prefix(while: { $0 !== segment }).allSatisfy { $0.table != nil }, "segments are indexed oldest first")
        let last = segment.firstPosition + UInt64(table.slotCount)  // one past
        segment.table = table
        segment.offsets = []
        segment.lastRecordedAt = table.newestRecordedAt
        if table.idCount > 0 { ids.remove(positionsIn: segment.firstPosition..<last) }
        for sid in streamsWithRecent {
            streams[sid].dropRecent(through: last - 1)
            if streams[sid].recent.isEmpty { streamsWithRecent.remove(sid) }
        }
    }

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
        streams[sid].append(position: position)
        ids.insert(id, position: position)
        segment.offsets.append(UInt32(offset))
        segment.lastRecordedAt = recordedAt
        if streams[sid].recent.count == 1 { streamsWithRecent.insert(sid) }
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
            streams[sid].skip(to: revision)
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
               allowsGaps || (firstPosition > 1 && (known?.lastPosition ?? 0) < firstPosition) {
                let sid = streamID(name)
                streams[sid].skip(to: view.revision - 1)
                expectedRevision = view.revision
            }
            let slot = segment.firstPosition + UInt64(segment.eventCount)
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
