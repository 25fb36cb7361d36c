import Foundation
import Strata

/// One stream in the replica.
struct ReplicaStream {
    var positions: [UInt64] = []
    var lastRevision: UInt64 { UInt64(positions.count) }
    var deletedThrough: UInt64 = 0
    var tombstoned = false
    var metadata = StreamMetadata()
    var exists: Bool { !tombstoned && lastRevision > deletedThrough }

    var writeState: StreamWriteState {
        StreamWriteState(lastRevision: lastRevision, exists: exists, isTombstoned: tombstoned)
    }
}

/// The store's state as of a JetStream sequence: every entry up to ``appliedSequence`` applied
/// in order. Each store instance keeps one and feeds it from its ordered consumer and its own
/// acknowledged writes; because entries are applied in stream order, every instance computes
/// the same positions, revisions and stream states.
final class ReplicaState {
    var events: [RecordedEvent] = []
    var streams: [String: ReplicaStream] = [:]
    var ids: [UUID: UInt64] = [:]
    /// The last JetStream sequence applied (0: none).
    var appliedSequence: UInt64 = 0
    var closedReason: String?
    /// Why the replica stopped following (an entry that does not decode or apply), if it did.
    var failure: StrataError?

    var head: UInt64 { UInt64(events.count) }

    func checkOpen() throws {
        if let closedReason { throw StrataError.storeClosed(reason: closedReason) }
        if let failure { throw failure }
    }

    /// Applies the entry stored at `sequence`.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` when the entry contradicts the
    ///   state (a position or revision that is not the next one): nothing is changed then.
    func apply(_ entry: StoreEntry, sequence: UInt64, location: String) throws {
        precondition(sequence == appliedSequence + 1, "entries are applied in stream order")
        switch entry {
        case .commit(let first, let recordedAt, let committed):
            guard first == head + 1 else {
                throw StrataError.corruption(path: location, offset: 0, reason: "commit starts at position \(first), the head is \(head)")
            }
            var next: [String: UInt64] = [:]
            for e in committed {
                let expected = (next[e.stream] ?? streams[e.stream]?.lastRevision ?? 0) + 1
                guard e.revision == expected, streams[e.stream]?.tombstoned != true else {
                    throw StrataError.corruption(path: location, offset: 0,
                                                 reason: "event \(e.event.id) has revision \(e.revision) in \(e.stream.debugDescription), expected \(expected)")
                }
                next[e.stream] = e.revision
            }
            for (i, e) in committed.enumerated() {
                let position = first + UInt64(i)
                let x = e.event
                events.append(RecordedEvent(id: x.id, stream: e.stream, revision: e.revision, position: position,
                                            recordedAtMicroseconds: recordedAt, type: x.type, contentType: x.contentType,
                                            data: x.data, metadata: x.metadata))
                streams[e.stream, default: ReplicaStream()].positions.append(position)
                ids[x.id] = position
            }
        case .delete(let stream, let mode):
            var record = streams[stream] ?? ReplicaStream()
            switch mode {
            case .soft: record.deletedThrough = record.lastRevision
            case .tombstone: record.tombstoned = true
            }
            streams[stream] = record
        case .metadata(let stream, let metadata):
            streams[stream, default: ReplicaStream()].metadata = metadata
        }
        appliedSequence = sequence
    }

    func event(at position: UInt64) -> RecordedEvent { events[Int(position - 1)] }
}

/// The replica as the ``AppendPlanner`` sees it.
struct ReplicaSource: AppendStateSource {
    let state: ReplicaState

    func writeState(of stream: String) throws -> StreamWriteState {
        state.streams[stream]?.writeState ?? .new
    }

    func location(ofEvent id: UUID) throws -> EventLocation? {
        guard let p = state.ids[id] else { return nil }
        let e = state.event(at: p)
        return EventLocation(stream: e.stream, revision: e.revision, position: e.position)
    }

    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        var p = Int(min(position, state.head))
        while p < state.events.count {
            if query.matches(state.events[p]) { return UInt64(p + 1) }
            p += 1
        }
        return nil
    }
}
