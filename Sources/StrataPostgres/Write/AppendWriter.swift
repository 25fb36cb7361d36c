import Logging
import PostgresNIO
import Strata
import Synchronization

/// In-process group commit: appends queue in a ``GroupCommitQueue``, and writer tasks (one by
/// default) each take everything queued (up to `maxEventsPerTransaction` events) into one
/// transaction. Commits are serial anyway (each holds the counter row through its WAL flush),
/// so one writer that gathers every waiting append beats two that split them; more writers
/// overlap preparing one batch with committing another, and the database's row locks keep them
/// consistent with each other as they keep them consistent with other processes.
final class AppendWriter: Sendable {
    private let core: PostgresStoreCore
    private let notifier: AppendNotifier
    private let hooks: AppendHooks
    private let queue: GroupCommitQueue<QueuedAppend, [AppendResult]>
    private let writers = Mutex<[Task<Void, Never>]>([])

    init(core: PostgresStoreCore, notifier: AppendNotifier, hooks: AppendHooks) {
        self.core = core
        self.notifier = notifier
        self.hooks = hooks
        self.queue = GroupCommitQueue(limits: .init(maxBatchEvents: core.configuration.maxEventsPerTransaction))
    }

    /// Starts the writer tasks.
    func start() {
        let tasks = (0..<core.configuration.writerCount).map { _ in
            // The appenders the last commit answered are resubmitting right now: a writer lets
            // them run before taking the queue, so that they share the next transaction instead
            // of splitting across two (each commit is a WAL flush under the counter lock).
            Task { [self] in await queue.consume(regroupingYields: 4) { await commit($0) } }
        }
        writers.withLock { $0 = tasks }
    }

    /// Queues an append and waits for its transaction.
    func submit(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        let size = requests.groupCommitSize
        return try await queue.submit(QueuedAppend(requests: requests, condition: condition), bytes: size.bytes, events: size.events)
    }

    /// Stops taking appends, lets the writers finish what is queued, and waits for them.
    func close() async {
        queue.finish()
        for task in writers.withLock({ $0 }) { await task.value }
    }

    /// Runs one batch's transaction, again after a conflict with another process or a broken
    /// connection (a batch whose COMMIT was lost is recognised by its event ids and answered
    /// as the idempotent repeat it then is), and answers every append of the batch.
    private func commit(_ batch: [GroupCommitQueue<QueuedAppend, [AppendResult]>.Pending]) async {
        var conflicts = 0, losses = 0
        while true {
            do {
                let transaction = AppendTransaction(core: core, batch: batch.map(\.request), hooks: hooks)
                let outcome = try await core.leased { connection in
                    try await transaction.run(on: connection)
                }
                if let head = outcome.head { notifier.advance(to: head) }
                for (pending, result) in zip(batch, outcome.results) { pending.complete(with: result) }
                return
            } catch {
                if PostgresFailure.isConflict(error) && conflicts < 20 {
                    conflicts += 1
                    core.logger.debug("append batch conflicted with another transaction (\(PostgresFailure.sqlState(error) ?? "?")); retrying")
                    await Task.yield()
                    continue
                }
                if PostgresFailure.isConnectionLoss(error) && losses < 5 && !core.isClosed {
                    losses += 1
                    core.logger.info("append batch lost its connection; retrying (attempt \(losses))")
                    try? await Task.sleep(for: .milliseconds(50 << losses))
                    continue
                }
                let failure = PostgresFailure.strataError(error, url: core.url, operation: "append")
                for pending in batch { pending.fail(failure) }
                return
            }
        }
    }
}
