import Foundation
import Synchronization

/// A complete event store in memory: fast, for tests, previews and as the reference model that
/// property-based tests compare every backend against. Nothing survives the process.
///
/// ```swift
/// let store = InMemoryEventStore()
/// try await store.append(to: "user-1", event: EventData(type: "registered", json: "{}"))
/// ```
public final class InMemoryEventStore: EventStore {
    private let state: Mutex<MemoryState>
    private let notifier = AppendNotifier()
    private let limits: EventLimits
    private let clock: @Sendable () -> Int64

    /// Creates an empty store.
    /// - Parameters:
    ///   - limits: per-event limits.
    ///   - clock: the recorded-time source, microseconds since the epoch (tests may inject one).
    public init(limits: EventLimits = .default, clock: @escaping @Sendable () -> Int64 = currentMicroseconds) {
        self.state = Mutex(MemoryState())
        self.limits = limits
        self.clock = clock
    }

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: limits)
        let now = clock()
        let (results, head) = try state.withLock { s -> ([AppendResult], UInt64) in
            try s.checkOpen()
            var planner = AppendPlanner(source: MemorySource(state: s), head: UInt64(s.events.count))
            switch try planner.plan(requests, condition: condition) {
            case .idempotent(let results):
                return (results, UInt64(s.events.count))
            case .write(let results, let range):
                for planned in planner.events[range] {
                    s.record(planned, at: now)
                }
                return (results, UInt64(s.events.count))
            }
        }
        notifier.advance(to: head)
        return results
    }

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        let now = clock()
        return try state.withLock { s in
            try s.checkOpen()
            guard let record = s.streams[stream] else { throw StrataError.streamNotFound(stream) }
            if record.tombstoned { throw StrataError.streamTombstoned(stream) }
            if !record.exists { throw StrataError.streamNotFound(stream) }
            let visibility = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                              metadata: record.metadata, nowMicros: now)
            guard maxCount > 0, let range = visibility.revisions(from: origin, direction: direction) else {
                return StreamPage(events: [], next: nil)
            }
            var events: [RecordedEvent] = []
            var next: UInt64?
            switch direction {
            case .forward:
                var r = range.lowerBound
                while r <= range.upperBound {
                    if events.count == maxCount { next = r; break }
                    let e = s.events[Int(record.positions[Int(r - 1)] - 1)]
                    if visibility.admits(recordedAtMicros: e.recordedAtMicroseconds) { events.append(e) }
                    r += 1
                }
            case .backward:
                var r = range.upperBound
                while r >= range.lowerBound {
                    if events.count == maxCount { next = r; break }
                    let e = s.events[Int(record.positions[Int(r - 1)] - 1)]
                    if visibility.admits(recordedAtMicros: e.recordedAtMicroseconds) { events.append(e) }
                    r -= 1
                }
            }
            return StreamPage(events: events, next: next)
        }
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try state.withLock { s in
            try s.checkOpen()
            let head = UInt64(s.events.count)
            return AllPageScan.scan(head: head, firstPosition: 1, origin: origin, direction: direction, filter: filter,
                                    maxCount: maxCount) { position in s.events[Int(position - 1)] }
        }
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        let now = clock()
        return try state.withLock { s in
            try s.checkOpen()
            guard let record = s.streams[stream] else {
                return StreamInfo(stream: stream, exists: false, lastRevision: 0, eventCount: 0, isDeleted: false,
                                  isTombstoned: false, metadata: StreamMetadata())
            }
            var count = 0
            if record.exists {
                let v = StreamVisibility(lastRevision: record.lastRevision, deletedThrough: record.deletedThrough,
                                         metadata: record.metadata, nowMicros: now)
                if let range = v.revisions(from: .start, direction: .forward) {
                    for r in range where v.admits(recordedAtMicros: s.events[Int(record.positions[Int(r - 1)] - 1)].recordedAtMicroseconds) {
                        count += 1
                    }
                }
            }
            return StreamInfo(stream: stream, exists: record.exists, lastRevision: record.lastRevision, eventCount: count,
                              isDeleted: !record.exists && !record.tombstoned && record.lastRevision > 0,
                              isTombstoned: record.tombstoned, metadata: record.metadata)
        }
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try state.withLock { s in
            try s.checkOpen()
            let names = s.streams.compactMap { name, record in
                record.exists && name.utf8.starts(with: prefix.utf8) && (after.map { StreamOrder.less($0, name) } ?? true) ? name : nil
            }
            return Array(names.sorted(by: StreamOrder.less).prefix(Swift.max(0, maxCount)))
        }
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try state.withLock { s in
            try s.checkOpen()
            var record = s.streams[stream] ?? StreamRecord()
            let current = StreamWriteState(lastRevision: record.lastRevision, exists: record.exists, isTombstoned: record.tombstoned)
            try current.check(expectedRevision, stream: stream)
            switch mode {
            case .soft:
                guard record.exists else { throw StrataError.streamNotFound(stream) }
                record.deletedThrough = record.lastRevision
            case .tombstone:
                record.tombstoned = true
            }
            s.streams[stream] = record
        }
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try state.withLock { s in
            try s.checkOpen()
            var record = s.streams[stream] ?? StreamRecord()
            if record.tombstoned { throw StrataError.streamTombstoned(stream) }
            record.metadata = metadata
            s.streams[stream] = record
        }
    }

    public func headPosition() async throws -> UInt64 {
        try state.withLock { s in
            try s.checkOpen()
            return UInt64(s.events.count)
        }
    }

    public func stats() async throws -> StoreStats {
        try state.withLock { s in
            try s.checkOpen()
            return StoreStats(headPosition: UInt64(s.events.count), firstPosition: 1, streamCount: s.streams.count, bytesOnDisk: 0,
                              details: ["backend": "memory"])
        }
    }

    public func waitForAppends(after position: UInt64) async throws {
        try await notifier.wait(after: position)
    }

    public func close() async throws {
        state.withLock { $0.closed = true }
        notifier.close()
    }
}

/// One stream in the memory store.
struct StreamRecord {
    var positions: [UInt64] = []
    var lastRevision: UInt64 { UInt64(positions.count) }
    var deletedThrough: UInt64 = 0
    var tombstoned = false
    var metadata = StreamMetadata()
    var exists: Bool { !tombstoned && lastRevision > deletedThrough }
}

/// The memory store's state. A class so that planning can read it without copying.
final class MemoryState {
    var events: [RecordedEvent] = []
    var streams: [String: StreamRecord] = [:]
    var ids: [UUID: UInt64] = [:]
    var closed = false

    func checkOpen() throws {
        if closed { throw StrataError.storeClosed(reason: "close() was called") }
    }

    func record(_ planned: PlannedEvent, at now: Int64) {
        let e = planned.event
        events.append(RecordedEvent(id: e.id, stream: planned.stream, revision: planned.revision, position: planned.position,
                                    recordedAtMicroseconds: now, type: e.type, contentType: e.contentType, data: e.data,
                                    metadata: e.metadata))
        streams[planned.stream, default: StreamRecord()].positions.append(planned.position)
        ids[e.id] = planned.position
    }
}

struct MemorySource: AppendStateSource {
    let state: MemoryState

    func writeState(of stream: String) throws -> StreamWriteState {
        guard let r = state.streams[stream] else { return .new }
        return StreamWriteState(lastRevision: r.lastRevision, exists: r.exists, isTombstoned: r.tombstoned)
    }

    func location(ofEvent id: UUID) throws -> EventLocation? {
        guard let p = state.ids[id] else { return nil }
        let e = state.events[Int(p - 1)]
        return EventLocation(stream: e.stream, revision: e.revision, position: e.position)
    }

    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        var p = Int(position)
        while p < state.events.count {
            if query.matches(state.events[p]) { return UInt64(p + 1) }
            p += 1
        }
        return nil
    }
}
