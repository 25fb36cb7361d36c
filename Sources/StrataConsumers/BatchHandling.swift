import Foundation
import Strata

/// How one checkpointed consumer name handles a batch, shared by ``CheckpointedConsumer`` and
/// ``ConsumerGroupMember`` (one per partition): the whole batch in one commit, and when that
/// fails, event by event with the retry policy; an event that still fails is parked (its
/// checkpoint then passes it) or stops the consumer (docs/CONSUMERS.md, "Failures, retries
/// and parking").
struct BatchHandling<Checkpoints: CheckpointStore>: Sendable {
    /// The checkpoint and parked events' key.
    let consumer: String
    let checkpoints: Checkpoints
    let options: ConsumerOptions
    let handler: @Sendable ([RecordedEvent], Checkpoints.Transaction) async throws -> Void
    /// Where the last error is kept.
    let progress: ConsumerProgress
    /// Tells of retries and parked events.
    let notify: @Sendable (ConsumerNotification) -> Void

    /// Handles `events` (in position order), committing the checkpoint through each one handled or parked.
    func handle(_ events: [RecordedEvent]) async throws {
        do {
            try await checkpoints.commit(consumer: consumer, through: events[events.count - 1].position) { transaction in
                try await handler(events, transaction)
            }
            return
        } catch {
            if error is CancellationError || Task.isCancelled { throw error }
            progress.update { $0.lastError = "\(error)" }
            if events.count == 1 {
                notify(.retrying(position: events[0].position, attempt: 1, error: "\(error)"))
                try await handleAlone(events[0], attemptsMade: 1)
                return
            }
        }
        for event in events { try await handleAlone(event, attemptsMade: 0) }
    }

    private func handleAlone(_ event: RecordedEvent, attemptsMade: Int) async throws {
        var policy = options.retry
        if attemptsMade > 0 {
            policy.maxAttempts = max(0, policy.maxAttempts - attemptsMade)
            if policy.maxAttempts > 0 { try await Task.sleep(for: options.retry.delay(afterAttempt: attemptsMade)) }
        }
        if policy.maxAttempts > 0 {
            let outcome = try await policy.run(onFailure: { attempt, error in
                progress.update { $0.lastError = "\(error)" }
                notify(.retrying(position: event.position, attempt: attempt + attemptsMade, error: "\(error)"))
            }) {
                try await checkpoints.commit(consumer: consumer, through: event.position) { transaction in
                    try await handler([event], transaction)
                }
            }
            switch outcome {
            case .success: return
            case .failure(let error, let attempts):
                try await giveUp(event, error: error, attempts: attempts + attemptsMade)
            }
        } else {
            try await giveUp(event, error: StrataError.invalidArgument(progress.current.lastError ?? "handler failed"),
                             attempts: attemptsMade)
        }
    }

    private func giveUp(_ event: RecordedEvent, error: any Error, attempts: Int) async throws {
        guard options.parkFailures else { throw error }
        let entry = ParkedEvent(consumer: consumer, position: event.position, stream: event.stream, revision: event.revision,
                                type: event.type, error: progress.current.lastError ?? "\(error)", attempts: attempts)
        try await checkpoints.park(entry)
        try await checkpoints.commit(consumer: consumer, through: event.position) { _ in }
        notify(.parked(entry))
    }
}
