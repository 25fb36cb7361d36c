import Foundation

/// One stream of a ``MemoryLog``.
public struct MemoryLogStream: Sendable {
    /// The position of each revision: revision `r` is at `positions[r - 1]`.
    public fileprivate(set) var positions: [UInt64] = []
    /// Revisions up to this one were soft-deleted (0 when never).
    public fileprivate(set) var deletedThrough: UInt64 = 0
    /// Whether the stream was tombstoned.
    public fileprivate(set) var tombstoned = false
    /// The stream's metadata.
    public fileprivate(set) var metadata = StreamMetadata()

    /// The last revision ever written (0 when never written).
    public var lastRevision: UInt64 { UInt64(positions.count) }
    /// Whether the stream exists: written, not soft-deleted since, not tombstoned.
    public var exists: Bool { !tombstoned && lastRevision > deletedThrough }
    /// The stream's state for append decisions.
    public var writeState: StreamWriteState {
        StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned)
    }

    /// Adds the next revision at `position` and returns it.
    fileprivate mutating func append(_ position: UInt64) -> UInt64 {
        positions.append(position)
        return lastRevision
    }

    fileprivate mutating func deleteSoftly() { deletedThrough = lastRevision }
}

/// A whole event log held in memory — every event in position order, each stream's revisions,
/// deletes, tombstones and metadata, and an index of event ids for idempotency — with the
/// contract's reads over it. ``InMemoryEventStore`` keeps its store in one; a backend that keeps
/// a replica of its store in memory (JetStream) keeps the replica in one.
///
/// It changes only as it is told: the caller decides appends (with ``AppendPlanner``, for which
/// the log is the ``AppendStateSource``), checks deletes and metadata changes
/// (``StreamWriteState/afterDelete(_:expected:mode:)``), and guards the log with a lock.
/// Positions start at 1 and have no gaps.
public final class MemoryLog {
    /// Every event, in position order: position `p` is `events[p - 1]`.
    public private(set) var events: [RecordedEvent] = []
    /// Every stream that was written, deleted or given metadata.
    public private(set) var streams: [String: MemoryLogStream] = [:]
    private var ids: [UUID: UInt64] = [:]

    /// Creates an empty log.
    public init() {}

    /// The position of the last event (0 when empty).
    public var head: UInt64 { UInt64(events.count) }

    /// The event at a position in `1...head`.
    public func event(at position: UInt64) -> RecordedEvent { events[Int(position - 1)] }

    // MARK: - Changing

    /// Appends an event at position `head + 1` as the next revision of its stream.
    /// - Returns: the event as recorded.
    @discardableResult
    public func append(_ event: EventData, to stream: String, recordedAt micros: Int64) -> RecordedEvent {
        let position = head + 1
        // In place: copying the record out would copy its positions.
        let revision = streams[stream, default: MemoryLogStream()].append(position)
        let recorded = RecordedEvent(id: event.id, stream: stream, revision: revision, position: position,
                                     recordedAtMicroseconds: micros, type: event.type, contentType: event.contentType,
                                     data: event.data, metadata: event.metadata)
        events.append(recorded)
        ids[event.id] = position
        return recorded
    }

    /// Appends an event an ``AppendPlanner`` placed; it must be the next position and its
    /// stream's next revision (checked in debug builds).
    public func append(_ planned: PlannedEvent, recordedAt micros: Int64) {
        assert(planned.position == head + 1 && planned.revision == (streams[planned.stream]?.lastRevision ?? 0) + 1,
                     "planned events are appended in order")
        append(planned.event, to: planned.stream, recordedAt: micros)
    }

    /// Soft-deletes (hides the revisions written so far) or tombstones a stream, unchecked.
    public func delete(_ stream: String, mode: DeleteMode) {
        switch mode {
        case .soft: streams[stream, default: MemoryLogStream()].deleteSoftly()
        case .tombstone: streams[stream, default: MemoryLogStream()].tombstoned = true
        }
    }

    /// Replaces a stream's metadata, unchecked.
    public func setMetadata(_ metadata: StreamMetadata, of stream: String) {
        streams[stream, default: MemoryLogStream()].metadata = metadata
    }

    // MARK: - Reading

    /// A page of a stream read, as ``EventStore/readStreamPage(_:from:direction:maxCount:)``
    /// returns it, with `maxAge` measured from `nowMicros`.
    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int,
                               nowMicros: Int64) throws -> StreamPage {
        guard let record = streams[stream] else { throw StrataError.streamNotFound(stream) }
        if record.tombstoned { throw StrataError.streamTombstoned(stream) }
        if !record.exists { throw StrataError.streamNotFound(stream) }
        let visibility = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                          metadata: record.metadata, nowMicros: nowMicros)
        guard maxCount > 0, let range = visibility.revisions(from: origin, direction: direction) else {
            return StreamPage(events: [], next: nil)
        }
        var page: [RecordedEvent] = []
        var next: UInt64?
        var r = direction == .forward ? range.lowerBound : range.upperBound
        while range.contains(r) {
            if page.count == maxCount {
                next = r
                break
            }
            let e = event(at: record.positions[Int(r - 1)])
            if visibility.admits(recordedAtMicros: e.recordedAtMicroseconds) { page.append(e) }
            if direction == .forward { r += 1 } else { r -= 1 }
        }
        return StreamPage(events: page, next: next)
    }

    /// A page of an `$all` read, as ``EventStore/readAllPage(from:direction:filter:maxCount:)`` returns it.
    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) -> AllPage {
        AllPageScan.scan(head: head, firstPosition: 1, origin: origin, direction: direction, filter: filter,
                         maxCount: maxCount) { event(at: $0) }
    }

    /// A stream's state, as ``EventStore/streamInfo(_:)`` returns it, with `maxAge` measured from `nowMicros`.
    public func streamInfo(_ stream: String, nowMicros: Int64) -> StreamInfo {
        guard let record = streams[stream] else {
            return .unknown(stream)
        }
        var count = 0
        if record.exists {
            let v = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                     metadata: record.metadata, nowMicros: nowMicros)
            if let range = v.revisions(from: .start, direction: .forward) {
                for r in range where v.admits(recordedAtMicros: event(at: record.positions[Int(r - 1)]).recordedAtMicroseconds) {
                    count += 1
                }
            }
        }
        return StreamInfo(stream: stream, lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                          isTombstoned: record.tombstoned, metadata: record.metadata, eventCount: count)
    }

    /// Names of existing streams, as ``EventStore/listStreamsPage(prefix:after:maxCount:)`` returns them.
    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) -> [String] {
        let names = streams.compactMap { name, record in
            record.exists && name.utf8.starts(with: prefix.utf8) && (after.map { StreamOrder.less($0, name) } ?? true) ? name : nil
        }
        return Array(names.sorted(by: StreamOrder.less).prefix(Swift.max(0, maxCount)))
    }
}

extension MemoryLog: AppendStateSource {
    /// The stream's state (``StreamWriteState/new`` when unknown).
    public func writeState(of stream: String) -> StreamWriteState {
        streams[stream]?.writeState ?? .new
    }

    /// Where the event with this id was stored, if it was.
    public func location(ofEvent id: UUID) -> EventLocation? {
        guard let p = ids[id] else { return nil }
        let e = event(at: p)
        return EventLocation(stream: e.stream, revision: e.revision, position: e.position)
    }

    /// The position of the first event after `position` that matches `query`, if any.
    public func firstEvent(matching query: EventQuery, after position: UInt64) -> UInt64? {
        var p = Int(Swift.min(position, head))
        while p < events.count {
            if query.matches(events[p]) { return UInt64(p + 1) }
            p += 1
        }
        return nil
    }
}
