import Foundation
import Strata
import Synchronization

/// The one writer of a ``SQLiteEventStore``: a thread that owns the write connection, takes
/// every operation queued since its last transaction and runs them in one `BEGIN IMMEDIATE`
/// transaction (group commit). Each append is planned on its own by ``AppendPlanner``, so a bad
/// request fails alone while the others of the batch commit. Callers are resumed after COMMIT.
final class SQLiteWriter: @unchecked Sendable {
    // Safe to share: `operations` and `accepting` are only touched under `condition`; `db` and
    // everything else is used by the writer thread alone once it started.

    /// A queued change.
    enum Operation {
        case append([AppendRequest], AppendCondition?, CheckedContinuation<[AppendResult], any Error>)
        case delete(stream: String, expected: ExpectedRevision, mode: DeleteMode, CheckedContinuation<Void, any Error>)
        case setMetadata(stream: String, metadata: StreamMetadata, CheckedContinuation<Void, any Error>)
        /// Stop after everything queued before; resume the continuation, if any, once stopped.
        case close(CheckedContinuation<Void, any Error>?)

        var eventCount: Int {
            guard case .append(let requests, _, _) = self else { return 1 }
            return requests.reduce(0) { $0 + $1.events.count }
        }

        func fail(_ error: any Error) {
            switch self {
            case .append(_, _, let c): c.resume(throwing: error)
            case .delete(_, _, _, let c), .setMetadata(_, _, let c): c.resume(throwing: error)
            case .close(let c): c?.resume(throwing: error)
            }
        }
    }

    /// How one operation ends once its transaction committed.
    private enum Completion {
        case results(CheckedContinuation<[AppendResult], any Error>, [AppendResult])
        case done(CheckedContinuation<Void, any Error>)
        case failed(Operation, any Error)

        func finish() {
            switch self {
            case .results(let c, let results): c.resume(returning: results)
            case .done(let c): c.resume()
            case .failed(let op, let error): op.fail(error)
            }
        }
    }

    private let condition = NSCondition()
    private var operations: [Operation] = []
    private var accepting = true

    private let db: SQLiteConnection
    private let notifier: AppendNotifier
    private let maxBatchEvents: Int
    /// Group-commit transactions committed since the store opened, and the operations they held.
    let transactions = Atomic<Int>(0)
    let operationsCommitted = Atomic<Int>(0)

    init(db: SQLiteConnection, notifier: AppendNotifier, maxBatchEvents: Int) {
        self.db = db
        self.notifier = notifier
        self.maxBatchEvents = maxBatchEvents
    }

    /// Starts the writer thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "strata-sqlite-writer"
        thread.start()
    }

    // MARK: - Submitting

    func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try await withCheckedThrowingContinuation { enqueue(.append(requests, condition, $0)) }
    }

    func delete(_ stream: String, expected: ExpectedRevision, mode: DeleteMode) async throws {
        try await withCheckedThrowingContinuation { enqueue(.delete(stream: stream, expected: expected, mode: mode, $0)) }
    }

    func setMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try await withCheckedThrowingContinuation { enqueue(.setMetadata(stream: stream, metadata: metadata, $0)) }
    }

    /// Finishes everything queued before, closes the write connection and stops the thread.
    func close() async throws {
        try await withCheckedThrowingContinuation { enqueue(.close($0)) }
    }

    /// Asks the thread to stop after the queued work without waiting (a store released unclosed).
    func stopWithoutWaiting() { enqueue(.close(nil)) }

    private func enqueue(_ operation: Operation) {
        condition.lock()
        guard accepting else {
            condition.unlock()
            operation.fail(StrataError.storeClosed(reason: "close() was called"))
            return
        }
        if case .close = operation { accepting = false }
        operations.append(operation)
        condition.signal()
        condition.unlock()
    }

    /// Waits for work and takes up to `maxBatchEvents` events' worth of it (at least one operation).
    private func takeBatch() -> [Operation] {
        condition.lock()
        defer { condition.unlock() }
        while operations.isEmpty { condition.wait() }
        var events = 0
        var count = 0
        for op in operations {
            if count > 0 && events + op.eventCount > maxBatchEvents { break }
            events += op.eventCount
            count += 1
        }
        let batch = Array(operations.prefix(count))
        operations.removeFirst(count)
        return batch
    }

    // MARK: - The writer thread

    private func run() {
        while true {
            var batch = takeBatch()
            var closing: CheckedContinuation<Void, any Error>??
            if case .close(let c) = batch.last {
                closing = .some(c)
                batch.removeLast()
            }
            if !batch.isEmpty { process(batch) }
            if let closing {
                db.close()
                closing?.resume()
                return
            }
        }
    }

    /// Runs one group-commit transaction. The first try skips looking up new event ids
    /// (``TransactionState/assumesNewIDs``); when an INSERT then meets a stored id, the
    /// transaction is rolled back and the batch runs again with every lookup, which decides
    /// exactly as the first try would have had it looked.
    private func process(_ batch: [Operation], lookingUpIDs: Bool = false) {
        var completions: [Completion] = []
        completions.reserveCapacity(batch.count)
        var head: UInt64 = 0
        do {
            try db.run("BEGIN IMMEDIATE")
            let state = TransactionState(db: db, assumesNewIDs: !lookingUpIDs)
            head = UInt64(bitPattern: try db.integer("SELECT COALESCE(MAX(position), 0) FROM strata_events"))
            // Recorded times never go backwards along $all, even if the clock does.
            let lastRecorded = try db.integer("SELECT recorded_at FROM strata_events WHERE position = ?") { $0.bind(1, head) }
            let now = Swift.max(currentMicroseconds(), lastRecorded)
            var planner = AppendPlanner(source: state, head: head)
            for op in batch {
                do {
                    completions.append(try apply(op, planner: &planner, state: state, now: now))
                } catch let error as SQLiteError {
                    throw error
                } catch {
                    completions.append(.failed(op, error))
                }
            }
            head = planner.head
            try db.run("COMMIT")
        } catch let error as SQLiteError where error.isUniqueViolation && !lookingUpIDs {
            db.rollbackQuietly()
            process(batch, lookingUpIDs: true)
            return
        } catch {
            db.rollbackQuietly()
            let reported = (error as? SQLiteError)?.strataError ?? error
            for op in batch { op.fail(reported) }
            return
        }
        transactions.add(1, ordering: .relaxed)
        operationsCommitted.add(batch.count, ordering: .relaxed)
        for completion in completions { completion.finish() }
        notifier.advance(to: head)
    }

    /// Plans one operation and writes it into the open transaction. Throws a ``StrataError``
    /// when the operation alone fails (nothing of it was written), a ``SQLiteError`` when the
    /// database failed (the whole transaction is rolled back).
    private func apply(_ op: Operation, planner: inout AppendPlanner<TransactionState>, state: TransactionState,
                       now: Int64) throws -> Completion {
        switch op {
        case .append(let requests, let appendCondition, let c):
            let plan: AppendPlan
            do {
                plan = try planner.plan(requests, condition: appendCondition)
            } catch is StrataError where state.assumesNewIDs {
                // Idempotency is decided before the checks that failed: decide again with the
                // ids looked up (a failed plan leaves the planner unchanged).
                state.assumesNewIDs = false
                defer { state.assumesNewIDs = true }
                plan = try planner.plan(requests, condition: appendCondition)
            }
            switch plan {
            case .idempotent(let results):
                return .results(c, results)
            case .write(let results, _):
                for (request, result) in zip(requests, results) {
                    try write(request, at: result, now: now, state: state)
                }
                return .results(c, results)
            }
        case .delete(let stream, let expected, let mode, let c):
            let current = try planner.writeState(of: stream)
            try current.check(expected, stream: stream)
            switch mode {
            case .soft:
                guard current.exists else { throw StrataError.streamNotFound(stream) }
                try db.run("UPDATE strata_streams SET deleted_through = last_revision WHERE name = ?") { $0.bind(1, stream) }
                planner.setPlannedState(StreamWriteState(lastRevision: current.lastRevision, exists: false, isTombstoned: false), of: stream)
            case .tombstone:
                try db.run("INSERT INTO strata_streams(name, tombstoned) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET tombstoned = 1") {
                    $0.bind(1, stream)
                }
                planner.setPlannedState(StreamWriteState(lastRevision: current.lastRevision, exists: false, isTombstoned: true), of: stream)
            }
            state.forget(stream)
            return .done(c)
        case .setMetadata(let stream, let metadata, let c):
            if try planner.writeState(of: stream).isTombstoned { throw StrataError.streamTombstoned(stream) }
            try db.run("""
                INSERT INTO strata_streams(name, max_count, max_age, truncate_before, custom) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET max_count = excluded.max_count, max_age = excluded.max_age,
                    truncate_before = excluded.truncate_before, custom = excluded.custom
                """) { s in
                s.bind(1, stream)
                if let n = metadata.maxCount { s.bind(2, n) } else { s.bindNull(2) }
                if let age = metadata.maxAge { s.bind(3, age) } else { s.bindNull(3) }
                if let t = metadata.truncateBefore { s.bind(4, t) } else { s.bindNull(4) }
                s.bind(5, metadata.custom)
            }
            state.forget(stream)
            return .done(c)
        case .close:
            preconditionFailure("close is handled by the writer loop")
        }
    }

    /// Inserts one planned request's events and moves its stream's last revision.
    private func write(_ request: AppendRequest, at result: AppendResult, now: Int64, state: TransactionState) throws {
        var row: StreamRow
        if let existing = try state.row(request.stream) {
            row = existing
        } else {
            try db.run("INSERT INTO strata_streams(name) VALUES (?)") { $0.bind(1, request.stream) }
            row = StreamRow(id: db.lastInsertRowID, lastRevision: 0, deletedThrough: 0, tombstoned: false, metadata: StreamMetadata())
        }
        let insert = try db.cached(SQLiteSchema.insertEvent)
        var position = result.firstPosition
        var revision = result.firstRevision
        for event in request.events {
            insert.bind(1, position)
            insert.bind(2, row.id)
            insert.bind(3, revision)
            insert.bind(4, event.id)
            insert.bind(5, now)
            insert.bind(6, event.type)
            insert.bind(7, event.contentType.rawValue)
            insert.bind(8, event.metadata)
            insert.bind(9, event.data)
            defer { insert.reset() }
            try insert.step()
            position += 1
            revision += 1
        }
        try db.run("UPDATE strata_streams SET last_revision = ? WHERE id = ?") { s in
            s.bind(1, result.lastRevision)
            s.bind(2, row.id)
        }
        row.lastRevision = result.lastRevision
        state.remember(row, as: request.stream)
    }
}
