import Logging
import PostgresNIO
import Strata
import Synchronization

/// In-process group commit: appends queue here, and writer tasks (one by default) each take
/// everything queued (up to a bound) into one transaction. Commits are serial anyway (each
/// holds the counter row through its WAL flush), so one writer that gathers every waiting
/// append beats two that split them; more writers overlap preparing one batch with committing
/// another, and the database's row locks keep them consistent with each other as they keep
/// them consistent with other processes.
final class AppendBatcher: Sendable {
    private struct State {
        var queue: [PendingAppend] = []
        var idleWriters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let core: PostgresStoreCore
    private let notifier: AppendNotifier
    private let hooks: AppendHooks
    private let state = Mutex(State())
    private let writers = Mutex<[Task<Void, Never>]>([])

    init(core: PostgresStoreCore, notifier: AppendNotifier, hooks: AppendHooks) {
        self.core = core
        self.notifier = notifier
        self.hooks = hooks
    }

    /// Starts the writer tasks.
    func start() {
        let tasks = (0..<core.configuration.writerCount).map { _ in
            Task { [self] in await runWriter() }
        }
        writers.withLock { $0 = tasks }
    }

    /// Queues an append and waits for its transaction.
    func submit(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        let eventCount = requests.reduce(0) { $0 + $1.events.count }
        return try await withCheckedThrowingContinuation { continuation in
            let pending = PendingAppend(requests: requests, condition: condition, eventCount: eventCount, continuation: continuation)
            let (accepted, writer) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
                if s.closed { return (false, nil) }
                s.queue.append(pending)
                return (true, s.idleWriters.popLast())
            }
            if !accepted {
                continuation.resume(throwing: StrataError.storeClosed(reason: "close() was called"))
                return
            }
            writer?.resume()
        }
    }

    /// Stops taking appends, lets the writers finish what is queued, and waits for them.
    func close() async {
        let idle = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            defer { s.idleWriters.removeAll() }
            return s.idleWriters
        }
        for writer in idle { writer.resume() }
        for task in writers.withLock({ $0 }) { await task.value }
    }

    private func runWriter() async {
        var previous = 0
        while let batch = await nextBatch(expecting: previous) {
            previous = batch.count
            await commit(batch)
        }
    }

    /// The next batch: every queued append up to the per-transaction bound (at least one), or
    /// nil once the store is closed and the queue is empty.
    private func nextBatch(expecting previous: Int) async -> [PendingAppend]? {
        let limit = core.configuration.maxEventsPerTransaction
        // The appenders the last commit answered are resubmitting right now: let them run
        // before taking the queue, so that they share the next transaction instead of
        // splitting across two (each commit is a WAL flush under the counter lock).
        var yields = 0
        while yields < 4 && previous > 1 && state.withLock({ $0.queue.count < previous && !$0.closed }) {
            await Task.yield()
            yields += 1
        }
        while true {
            enum Next { case batch([PendingAppend]), done, wait }
            let next = state.withLock { s -> Next in
                if s.queue.isEmpty { return s.closed ? .done : .wait }
                var taken = 1, events = s.queue[0].eventCount
                while taken < s.queue.count && events + s.queue[taken].eventCount <= limit {
                    events += s.queue[taken].eventCount
                    taken += 1
                }
                let batch = Array(s.queue.prefix(taken))
                s.queue.removeFirst(taken)
                return .batch(batch)
            }
            switch next {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { s -> Bool in
                        if !s.queue.isEmpty || s.closed { return true }
                        s.idleWriters.append(continuation)
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }

    /// Runs one batch's transaction, again after a conflict with another process or a broken
    /// connection (a batch whose COMMIT was lost is recognised by its event ids and answered
    /// as the idempotent repeat it then is), and answers every append of the batch.
    private func commit(_ batch: [PendingAppend]) async {
        var conflicts = 0, losses = 0
        while true {
            do {
                let transaction = AppendTransaction(core: core, batch: batch, hooks: hooks)
                let outcome = try await core.leased { connection in
                    try await transaction.run(on: connection)
                }
                if let head = outcome.head { notifier.advance(to: head) }
                for (pending, result) in zip(batch, outcome.results) { pending.continuation.resume(with: result) }
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
                for pending in batch { pending.continuation.resume(throwing: failure) }
                return
            }
        }
    }
}
