import Foundation
import Strata

/// The committed state one group-commit transaction plans against, read from the database
/// before planning: the locked rows of the batch's streams, where the batch's event ids are
/// already stored, and the answers to the batch's append conditions. ``AppendPlanner`` is
/// synchronous; this is what lets it run unchanged over a database.
struct PrefetchedAppendState: AppendStateSource {
    /// A condition's question: the first event matching `query` after `after`.
    struct ConditionKey: Hashable {
        let query: EventQuery
        let after: UInt64
    }

    /// Every stream of the batch (rows were created for new streams and are locked).
    var streams: [String: StreamWriteState] = [:]
    /// Stored locations of the batch's event ids that exist.
    var locations: [UUID: EventLocation] = [:]
    /// The first matching position for every condition of the batch (nil: none).
    var conditionHits: [ConditionKey: UInt64?] = [:]

    func writeState(of stream: String) throws -> StreamWriteState {
        streams[stream] ?? .new
    }

    func location(ofEvent id: UUID) throws -> EventLocation? {
        locations[id]
    }

    func containsAny(of ids: [UUID]) throws -> Bool {
        if locations.isEmpty { return false }
        return ids.contains { locations[$0] != nil }
    }

    func firstEvent(matching query: EventQuery, after position: UInt64) throws -> UInt64? {
        guard let hit = conditionHits[ConditionKey(query: query, after: position)] else {
            // The transaction asks every condition of the batch before planning: not reached.
            preconditionFailure("append condition \(query) after \(position) was not prefetched")
        }
        return hit
    }
}
