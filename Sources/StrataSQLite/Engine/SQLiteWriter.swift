import Foundation
import Strata
import Synchronization

/// The one writer of a ``SQLiteEventStore``: a thread that owns the write connection, takes
/// every operation queued since its last transaction and runs them in one `BEGIN IMMEDIATE`
/// transaction (group commit). Each append is planned on its own by ``AppendPlanner``, so a bad
/// request fails alone while the others of the batch commit. Callers are resumed after COMMIT.
final class SQLiteWriter: @unchecked Sendable {
    // Safe to share: the queue is thread-safe; `db` and everything else is used by the writer
    // thread alone once it started.

    /// What the writer thread is asked to do.
    enum Request: Sendable {
        /// An append, delete or metadata change, committed with the rest of its batch.
        case change(StoreChange)
        /// Stop after everything queued before: the queue's final request.
        case close
    }

    /// A request as taken in a batch.
    typealias Queued = GroupCommitQueue<Request, [AppendResult]>.Pending

    private let queue: GroupCommitQueue<Request, [AppendResult]>
    private let db: SQLiteConnection
    private let notifier: AppendNotifier
    /// Group-commit transactions committed since the store opened, and the operations they held.
    let transactions = Atomic<Int>(0)
    let operationsCommitted = Atomic<Int>(0)

    init(db: SQLiteConnection, notifier: AppendNotifier, maxBatchEvents: Int) {
        self.db = db
        self.notifier = notifier
        self.queue = GroupCommitQueue(limits: .init(maxBatchEvents: maxBatchEvents))
    }

    /// Starts the writer thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "strata-sqlite-writer"
        thread.start()
    }

    // MARK: - Submitting

    /// Queues an append, delete or metadata change and waits for its transaction.
    func submit(_ change: StoreChange) async throws -> [AppendResult] {
        let size = change.groupCommitSize
        return try await queue.submit(.change(change), bytes: size.bytes, events: size.events)
    }

    /// Finishes everything queued before, closes the write connection and stops the thread.
    func close() async throws {
        _ = try await queue.submitFinal(.close)
    }

    /// Asks the thread to stop after the queued work without waiting (a store released unclosed).
    func stopWithoutWaiting() { queue.finish() }

    // MARK: - The writer thread

    private func run() {
        while true {
            var batch: [Queued]
            var closing: Queued?
            switch queue.takeBatch() {
            case .finished:
                db.close()
                return
            case .timedOut:
                continue
            case .batch(let taken):
                batch = taken
            }
            if case .close = batch.last?.request { closing = batch.removeLast() }
            if !batch.isEmpty { process(batch) }
            if let closing {
                db.close()
                closing.succeed([])
                return
            }
        }
    }

    /// Runs one group-commit transaction. The first try skips looking up new event ids
    /// (``TransactionState/assumesNewIDs``); when an INSERT then meets a stored id, the
    /// transaction is rolled back and the batch runs again with every lookup, which decides
    /// exactly as the first try would have had it looked.
    private func process(_ batch: [Queued], lookingUpIDs: Bool = false) {
        var outcomes: [Result<[AppendResult], any Error>] = []
        outcomes.reserveCapacity(batch.count)
        var head: UInt64 = 0
        do {
            try db.run("BEGIN IMMEDIATE")
            let state = TransactionState(db: db, assumesNewIDs: !lookingUpIDs)
            head = try SQLiteReaders.head(db)
            // Recorded times never go backwards along $all, even if the clock does.
            let lastRecorded = try db.integer("SELECT recorded_at FROM strata_events ORDER BY position DESC LIMIT 1")
            let now = Swift.max(currentMicroseconds(), lastRecorded)
            var planner = AppendPlanner(source: state, head: head)
            for op in batch {
                do {
                    outcomes.append(.success(try apply(op, planner: &planner, state: state, now: now)))
                } catch let error as SQLiteError {
                    throw error
                } catch {
                    outcomes.append(.failure(error))
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
        for (op, outcome) in zip(batch, outcomes) { op.complete(with: outcome) }
        notifier.advance(to: head)
    }

    /// Plans one operation, writes it into the open transaction and returns its results. Throws
    /// a ``StrataError`` when the operation alone fails (nothing of it was written), a
    /// ``SQLiteError`` when the database failed (the whole transaction is rolled back).
    private func apply(_ op: Queued, planner: inout AppendPlanner<TransactionState>, state: TransactionState,
                       now: Int64) throws -> [AppendResult] {
        guard case .change(let change) = op.request else { preconditionFailure("close is handled by the writer loop") }
        switch change {
        case .append(let requests, let appendCondition):
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
                return results
            case .write(let results, _):
                for (request, result) in zip(requests, results) {
                    try write(request, at: result, now: now, state: state)
                }
                return results
            }
        case .delete(let stream, let expected, let mode):
            let after = try planner.writeState(of: stream).afterDelete(stream, expected: expected, mode: mode)
            switch mode {
            case .soft:
                try db.run("UPDATE strata_streams SET deleted_through = last_revision WHERE name = ?") { $0.bind(1, stream) }
            case .tombstone:
                try db.run("INSERT INTO strata_streams(name, tombstoned) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET tombstoned = 1") {
                    $0.bind(1, stream)
                }
            }
            planner.setPlannedState(after, of: stream)
            state.forget(stream)
            return []
        case .setMetadata(let stream, let metadata):
            try planner.writeState(of: stream).checkMetadataChange(of: stream)
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
            return []
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
