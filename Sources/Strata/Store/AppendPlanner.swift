import Foundation

/// What a backend's committed state says about one stream, for append decisions.
public struct StreamWriteState: Sendable, Hashable {
    /// The last revision ever written (0 when never written).
    public var lastRevision: UInt64
    /// Whether the stream exists (written, not soft-deleted since, not tombstoned).
    public var exists: Bool
    /// Whether the stream was tombstoned.
    public var isTombstoned: Bool

    /// A stream that was never written.
    public static let new = StreamWriteState(lastRevision: 0, exists: false, isTombstoned: false)

    /// Creates a write state.
    public init(lastRevision: UInt64, exists: Bool, isTombstoned: Bool) {
        self.lastRevision = lastRevision
        self.exists = exists
        self.isTombstoned = isTombstoned
    }

    /// Checks an expected revision against this state.
    public func check(_ expected: ExpectedRevision, stream: String) throws {
        if isTombstoned { throw StrataError.streamTombstoned(stream) }
        let ok: Bool
        switch expected {
        case .any: ok = true
        case .noStream, .exact(0): ok = !exists
        case .streamExists: ok = exists
        case .exact(let n): ok = exists && lastRevision == n
        }
        if !ok {
            throw StrataError.wrongExpectedRevision(stream: stream, expected: expected, actual: exists ? lastRevision : nil)
        }
    }

    /// Checks a delete of `stream` in this state — the expected revision, and for a soft delete
    /// that the stream exists — and returns the state after it.
    public func afterDelete(_ stream: String, expected: ExpectedRevision, mode: DeleteMode) throws -> StreamWriteState {
        try check(expected, stream: stream)
        if mode == .soft && !exists { throw StrataError.streamNotFound(stream) }
        return StreamWriteState(lastRevision: lastRevision, exists: false, isTombstoned: mode == .tombstone)
    }

    /// Checks a metadata change of `stream` in this state: a tombstoned stream refuses it.
    public func checkMetadataChange(of stream: String) throws {
        if isTombstoned { throw StrataError.streamTombstoned(stream) }
    }
}

/// Where an event was stored.
public struct EventLocation: Sendable, Hashable {
    /// The event's stream.
    public var stream: String
    /// Its revision.
    public var revision: UInt64
    /// Its position.
    public var position: UInt64
    /// Creates a location.
    public init(stream: String, revision: UInt64, position: UInt64) {
        self.stream = stream
        self.revision = revision
        self.position = position
    }
}

/// The committed state an ``AppendPlanner`` decides against.
public protocol AppendStateSource {
    /// The stream's state (``StreamWriteState/new`` when unknown).
    func writeState(of stream: String) throws -> StreamWriteState
    /// Where the event with this id was stored, if it was.
    func location(ofEvent id: UUID) throws -> EventLocation?
    /// Whether any of these ids was stored (a batch check that backends can make cheaper than
    /// one lookup per id). The default asks ``location(ofEvent:)`` for each.
    func containsAny(of ids: [UUID]) throws -> Bool
    /// The position of the first committed event after `position` that matches `query`, if any.
    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64?
}

extension AppendStateSource {
    /// Asks ``location(ofEvent:)`` for each id.
    public func containsAny(of ids: [UUID]) throws -> Bool {
        for id in ids where try location(ofEvent: id) != nil { return true }
        return false
    }
}

/// One event the planner placed.
public struct PlannedEvent: Sendable {
    /// The stream.
    public let stream: String
    /// The event's revision.
    public let revision: UInt64
    /// The event's position.
    public let position: UInt64
    /// The event as appended.
    public let event: EventData
    /// Whether this is the last event of its atomic append (the commit point).
    public let endsAppend: Bool
}

/// The planner's answer for one append.
public enum AppendPlan: Sendable {
    /// The events were already stored at this place: return these results, store nothing.
    case idempotent([AppendResult])
    /// Store the planner's events in this range of ``AppendPlanner/events``.
    case write([AppendResult], events: Range<Int>)
}

/// Decides appends — expected revisions, idempotency, conditions, revision and position
/// assignment — against committed state plus the appends already planned in the same batch.
/// Every backend uses it, so every backend makes the same decisions. A batch (one group commit)
/// plans several appends in order; an append that fails leaves the batch untouched.
public struct AppendPlanner<Source: AppendStateSource> {
    /// The committed state.
    public let source: Source
    /// The head position after the planned events.
    public private(set) var head: UInt64
    /// Every event planned so far, in position order.
    public private(set) var events: [PlannedEvent] = []
    private var streams: [String: StreamWriteState] = [:]
    /// Index in ``events`` of each id planned in this batch.
    private var ids = UUIDMap(capacity: 1024)

    /// Creates a planner over committed state whose head position is `head`.
    public init(source: Source, head: UInt64) {
        self.source = source
        self.head = head
    }

    /// The planned-or-committed state of a stream.
    public func writeState(of stream: String) throws -> StreamWriteState {
        if let s = streams[stream] { return s }
        return try source.writeState(of: stream)
    }

    /// Plans one atomic append of (already validated) requests.
    public mutating func plan(_ requests: [AppendRequest], condition: AppendCondition?) throws -> AppendPlan {
        // A tombstone wins over everything, idempotent retries included (KurrentDB's order).
        for request in requests where try writeState(of: request.stream).isTombstoned {
            throw StrataError.streamTombstoned(request.stream)
        }
        if let idempotent = try idempotentResults(requests) { return .idempotent(idempotent) }
        if let condition {
            let after = condition.after ?? 0
            if let hit = try source.firstEvent(matching: condition.query, after: after) {
                throw StrataError.appendConditionFailed(position: hit)
            }
            for planned in events where planned.position > after {
                if condition.query.matches(type: planned.event.type, metadata: { EventTags.parse(planned.event.metadata) }) {
                    throw StrataError.appendConditionFailed(position: planned.position)
                }
            }
        }
        var states: [StreamWriteState] = []
        states.reserveCapacity(requests.count)
        for request in requests {
            let state = try writeState(of: request.stream)
            try state.check(request.expectedRevision, stream: request.stream)
            states.append(state)
        }
        // Every check passed: place the events.
        let firstIndex = events.count
        events.reserveCapacity(events.count + requests.reduce(0) { $0 + $1.events.count })
        var results: [AppendResult] = []
        results.reserveCapacity(requests.count)
        var position = head
        for (request, state) in zip(requests, states) {
            var revision = state.lastRevision
            let firstRevision = revision + 1
            let firstPosition = position + 1
            for (i, event) in request.events.enumerated() {
                revision += 1
                position += 1
                events.append(PlannedEvent(stream: request.stream, revision: revision, position: position, event: event,
                                           endsAppend: false))
                ids.insert(event.id, value: events.count - 1)
                _ = i
            }
            streams[request.stream] = StreamWriteState(lastRevision: revision, exists: true, isTombstoned: false)
            results.append(AppendResult(stream: request.stream, firstRevision: firstRevision, lastRevision: revision,
                                        firstPosition: firstPosition, lastPosition: position))
        }
        let last = events.count - 1
        let p = events[last]
        events[last] = PlannedEvent(stream: p.stream, revision: p.revision, position: p.position, event: p.event, endsAppend: true)
        head = position
        return .write(results, events: firstIndex..<events.count)
    }

    /// Records a stream-state change planned in this batch (deletes), so later appends see it.
    public mutating func setPlannedState(_ state: StreamWriteState, of stream: String) {
        streams[stream] = state
    }

    private func location(of id: UUID) throws -> EventLocation? {
        if let i = ids[id] {
            let e = events[i]
            return EventLocation(stream: e.stream, revision: e.revision, position: e.position)
        }
        return try source.location(ofEvent: id)
    }

    /// KurrentDB semantics: when every event of every request was already stored in that stream,
    /// consecutively and in order, at the place the expected revision names, the append already
    /// happened: return its results. Any other use of a known id is an error.
    private func idempotentResults(_ requests: [AppendRequest]) throws -> [AppendResult]? {
        // The common case: every id is new. One batch question answers it.
        var all: [UUID] = []
        all.reserveCapacity(requests.count == 1 ? requests[0].events.count : 16)
        for request in requests { for event in request.events { all.append(event.id) } }
        if !all.contains(where: { ids[$0] != nil }), try !source.containsAny(of: all) { return nil }
        var results: [AppendResult] = []
        var sawNew = false
        var sawKnown: (UUID, String)?
        for request in requests {
            var locations: [EventLocation] = []
            for event in request.events {
                if let l = try location(of: event.id) {
                    locations.append(l)
                    if sawKnown == nil { sawKnown = (event.id, l.stream) }
                } else {
                    sawNew = true
                }
            }
            guard locations.count == request.events.count else { continue }
            let first = locations[0]
            var consistent = true
            for (i, l) in locations.enumerated()
            where l.stream != request.stream || l.revision != first.revision + UInt64(i) || l.position != first.position + UInt64(i) {
                consistent = false
            }
            switch request.expectedRevision {
            // `.noStream` may have recreated a soft-deleted stream, whose revisions continue.
            case .any, .streamExists, .noStream, .exact(0): break
            case .exact(let n): consistent = consistent && first.revision == n + 1
            }
            if !consistent {
                throw StrataError.eventIdReused(id: first.stream == request.stream ? request.events[0].id.uuidString : sawKnown!.0.uuidString,
                                                stream: first.stream)
            }
            let last = locations[locations.count - 1]
            results.append(AppendResult(stream: request.stream, firstRevision: first.revision, lastRevision: last.revision,
                                        firstPosition: first.position, lastPosition: last.position))
        }
        guard let known = sawKnown else { return nil }
        if sawNew || results.count != requests.count {
            throw StrataError.eventIdReused(id: known.0.uuidString, stream: known.1)
        }
        return results
    }
}
