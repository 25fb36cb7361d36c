import Foundation
import Logging
import PostgresNIO
import Strata

/// One append of a group-commit batch.
struct QueuedAppend: Sendable {
    let requests: [AppendRequest]
    let condition: AppendCondition?
}

/// Test hooks of the append transaction. Internal: tests reach them with `@testable import`.
struct AppendHooks: Sendable {
    /// Runs after the transaction took its positions (the counter row is locked, the events
    /// are inserted) and before COMMIT; the race test holds a transaction open here. When it
    /// throws, the transaction rolls back and its appends fail.
    var beforeCommit: (@Sendable (ClosedRange<UInt64>) async throws -> Void)?

    init(beforeCommit: (@Sendable (ClosedRange<UInt64>) async throws -> Void)? = nil) {
        self.beforeCommit = beforeCommit
    }
}

/// One group-commit transaction: plans a batch of appends with ``AppendPlanner`` against the
/// locked state of their streams, then writes every append that passed in one transaction.
/// Each append is decided on its own, so one that fails fails alone. The counter row that
/// gives positions is taken by the last statement before COMMIT (docs/POSTGRES.md).
struct AppendTransaction {
    let core: PostgresStoreCore
    let batch: [QueuedAppend]
    let hooks: AppendHooks

    /// What the transaction did.
    struct Outcome {
        /// Per pending append, in batch order.
        var results: [Result<[AppendResult], any Error>]
        /// The head after the commit, when events were written.
        var head: UInt64?
    }

    /// Every append's planned outcome, given committed state and a head position.
    private struct Plan {
        var results: [Result<[AppendResult], any Error>] = []
        var events: [PlannedEvent] = []
        var head: UInt64 = 0

        init(_ batch: [QueuedAppend], state: PrefetchedAppendState, head: UInt64) {
            var planner = AppendPlanner(source: state, head: head)
            results.reserveCapacity(batch.count)
            for pending in batch {
                do {
                    switch try planner.plan(pending.requests, condition: pending.condition) {
                    case .idempotent(let r): results.append(.success(r))
                    case .write(let r, _): results.append(.success(r))
                    }
                } catch {
                    results.append(.failure(error))
                }
            }
            events = planner.events
            self.head = planner.head
        }
    }

    func run(on connection: PostgresConnection) async throws -> Outcome {
        let logger = core.logger
        try await connection.run("BEGIN", logger: logger)
        do {
            let outcome = try await plannedAndWritten(on: connection)
            if outcome.head == nil {
                // Nothing to write: undo the stream rows step 1 created and release the locks.
                try await connection.run("ROLLBACK", logger: logger)
            } else {
                try await connection.run("COMMIT", logger: logger)
            }
            return outcome
        } catch {
            try? await connection.run("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func plannedAndWritten(on connection: PostgresConnection) async throws -> Outcome {
        let logger = core.logger, sql = core.sql

        // Step 1: lock the batch's streams; read stored ids and a head guess.
        var names = Set<String>()
        var ids: [UUID] = []
        for pending in batch {
            for request in pending.requests {
                names.insert(request.stream)
                for event in request.events { ids.append(event.id) }
            }
        }
        var state = PrefetchedAppendState()
        var created = Set<String>()
        var head: UInt64 = 0
        for row in try await connection.rows(PostgresQuery(unsafeSQL: sql.lockStreams, binds: try binds(Array(names), ids)), logger: logger) {
            let (kind, name, revision, deletedThrough, tombstoned, inserted, id, position) =
                try row.decode((Int32, String?, Int64, Int64, Bool, Bool, UUID?, Int64?).self)
            switch kind {
            case 0:
                let stream = name!
                let lastRevision = UInt64(revision)
                state.streams[stream] = StreamWriteState(lastRevision: lastRevision,
                                                         exists: !tombstoned && lastRevision > UInt64(deletedThrough),
                                                         isTombstoned: tombstoned)
                if inserted { created.insert(stream) }
            case 1:
                state.locations[id!] = EventLocation(stream: name!, revision: UInt64(revision), position: UInt64(position!))
            default:
                head = UInt64(revision)
            }
        }

        // A condition is asked while this transaction holds the counter, so that no append can
        // commit between the answer and this transaction's commit.
        var headIsLocked = false
        var conditions = Set<PrefetchedAppendState.ConditionKey>()
        for pending in batch {
            if let condition = pending.condition {
                conditions.insert(.init(query: condition.query, after: condition.after ?? 0))
            }
        }
        if !conditions.isEmpty {
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql.lockHead), logger: logger)
            head = UInt64(try rows[0].decode(Int64.self))
            headIsLocked = true
            for key in conditions {
                state.conditionHits[key] = try await firstMatch(key, on: connection)
            }
        }

        var plan = Plan(batch, state: state, head: head)
        if plan.events.isEmpty { return Outcome(results: plan.results, head: nil) }

        var lastRevisions: [String: UInt64] = [:]
        for event in plan.events { lastRevisions[event.stream] = event.revision }
        let unused = created.filter { lastRevisions[$0] == nil }

        // Step 2: the counter, taken last (its row lock is held until COMMIT), with the events
        // and the streams' new revisions in the same statement.
        let count = plan.events.count
        var eventIDs: [UUID] = [], streams: [String] = [], revisions: [Int64] = [], types: [String] = []
        var contentTypes: [String] = [], data: [ByteBuffer] = [], metadata: [ByteBuffer] = [], hasMetadata: [Bool] = []
        var tagOrdinals: [Int64] = [], tags: [String] = []
        eventIDs.reserveCapacity(count); streams.reserveCapacity(count); revisions.reserveCapacity(count)
        types.reserveCapacity(count); contentTypes.reserveCapacity(count); data.reserveCapacity(count)
        metadata.reserveCapacity(count); hasMetadata.reserveCapacity(count)
        for (index, planned) in plan.events.enumerated() {
            let event = planned.event
            eventIDs.append(event.id)
            streams.append(planned.stream)
            revisions.append(Int64(planned.revision))
            types.append(event.type)
            contentTypes.append(StoredText.encode(event.contentType.rawValue))
            data.append(ByteBuffer(bytes: event.data))
            metadata.append(ByteBuffer(bytes: event.metadata ?? Data()))
            hasMetadata.append(event.metadata != nil)
            if let bytes = event.metadata, mayHoldTags(bytes) {
                for tag in EventTags.parse(bytes) {
                    tagOrdinals.append(Int64(index + 1))
                    tags.append(StoredText.encode(tag))
                }
            }
        }
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql.insertEvents, binds: try binds(
            Int64(count), eventIDs, streams, revisions, types, contentTypes, data, metadata, hasMetadata,
            tagOrdinals, tags, core.schema.channel, Array(lastRevisions.keys), lastRevisions.values.map { Int64($0) },
            Array(unused))), logger: logger)
        let base = UInt64(try rows[0].decode(Int64.self))
        if base != head {
            // Another process committed since the guess. Planning does not depend on the head
            // when no condition is asked (and with one, the head was locked), so planning again
            // from the real head places the same events, only at the right positions.
            precondition(!headIsLocked, "the head moved while this transaction held it")
            plan = Plan(batch, state: state, head: base)
            precondition(plan.events.count == count, "planning again changed the number of events")
        }
        let positions = (base + 1)...(base + UInt64(count))
        if let beforeCommit = hooks.beforeCommit { try await beforeCommit(positions) }
        return Outcome(results: plan.results, head: positions.upperBound)
    }

    /// The position of the first event after `key.after` that matches `key.query`, if any.
    private func firstMatch(_ key: PrefetchedAppendState.ConditionKey, on connection: PostgresConnection) async throws -> UInt64? {
        var bindings = PostgresBindings()
        bindings.append(Int64(clamping: key.after))
        var alternatives: [String] = []
        for item in key.query.items {
            var parts: [String] = []
            if !item.types.isEmpty {
                // A type with U+0000 is not a valid type: it matches no stored event.
                let types = item.types.filter { !$0.utf8.contains(0) }
                if types.isEmpty { continue }
                bindings.append(Array(types))
                parts.append("e.type = ANY($\(bindings.count)::text[])")
            }
            if !item.tags.isEmpty {
                bindings.append(item.tags.map(StoredText.encode))
                parts.append("e.tags @> $\(bindings.count)::text[]")
            }
            alternatives.append(parts.isEmpty ? "true" : "(" + parts.joined(separator: " AND ") + ")")
        }
        if alternatives.isEmpty { return nil }
        let text = "SELECT e.position FROM \(core.schema.table("events")) e WHERE e.position > $1 AND ("
            + alternatives.joined(separator: " OR ") + ") ORDER BY e.position LIMIT 1"
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: text, binds: bindings), logger: core.logger)
        return try rows.first.map { UInt64(try $0.decode(Int64.self)) }
    }
}

/// Whether metadata can hold a `"tags"` key: its bytes contain `tags`, or an escape that could
/// spell it. Saves parsing the metadata of the (many) events that carry none.
func mayHoldTags(_ metadata: Data) -> Bool {
    if metadata.count < 9 { return false }
    return metadata.withUnsafeBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\\") { return true }
            if b == UInt8(ascii: "t"), i + 3 < bytes.count, bytes[i + 1] == UInt8(ascii: "a"), bytes[i + 2] == UInt8(ascii: "g"),
               bytes[i + 3] == UInt8(ascii: "s") { return true }
            i += 1
        }
        return false
    }
}
