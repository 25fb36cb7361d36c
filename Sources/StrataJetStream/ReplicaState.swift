import Foundation
import Strata

/// The store's state as of a JetStream sequence: every entry up to ``appliedSequence`` applied
/// in order to an in-memory log. Each store instance keeps one and feeds it from its ordered
/// consumer and its own acknowledged writes; because entries are applied in stream order,
/// every instance computes the same positions, revisions and stream states.
final class ReplicaState {
    /// The events, streams and ids as of ``appliedSequence``.
    let log = MemoryLog()
    /// The last JetStream sequence applied (0: none).
    var appliedSequence: UInt64 = 0
    var closedReason: String?
    /// Why the replica stopped following (an entry that does not decode or apply), if it did.
    var failure: StrataError?
    /// The store's identity, from the JetStream stream's creation time (set when the store opens).
    var identity: StoreIdentity?

    var head: UInt64 { log.head }

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
                let stream = log.streams[e.stream]
                let expected = (next[e.stream] ?? stream?.lastRevision ?? 0) + 1
                guard e.revision == expected, stream?.tombstoned != true else {
                    throw StrataError.corruption(path: location, offset: 0,
                                                 reason: "event \(e.event.id) has revision \(e.revision) in \(e.stream.debugDescription), expected \(expected)")
                }
                next[e.stream] = e.revision
            }
            for e in committed { log.append(e.event, to: e.stream, recordedAt: recordedAt) }
        case .delete(let stream, let mode):
            log.delete(stream, mode: mode)
        case .metadata(let stream, let metadata):
            log.setMetadata(metadata, of: stream)
        }
        appliedSequence = sequence
    }
}
