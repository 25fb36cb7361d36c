import Strata

/// What the writer thread is asked to do, through the engine's ``GroupCommitQueue``.
enum WriteRequest: Sendable {
    /// An append, delete or metadata change, committed with the rest of its batch.
    case change(StoreChange)
    /// Bring the index up to date with other processes' appends.
    case refresh
    /// Seal the newest segment now (when it holds records): the next batch starts a new one.
    case seal
    /// Publish a scavenge's rewritten segments (docs/FORMAT.md, "Scavenging").
    case publishScavenge(ScavengePublication)
    /// Sync, checkpoint and stop the writer: the queue's final request.
    case close
}

extension LogEngine {
    /// The most bytes one group-commit batch takes from the queue (one atomic append may exceed it).
    static let maxBatchBytes = 32 << 20

    /// Queues a change for the writer thread and waits for its batch.
    func submit(_ change: StoreChange) async throws -> [AppendResult] {
        try refuseIfReadOnly()
        let size = change.groupCommitSize
        return try await queue.submit(.change(change), bytes: size.bytes, events: size.events)
    }
}

extension LogEngine {
    /// Every write goes through here or ``submit(_:)``: a read-only open refuses it.
    /// - Throws: ``StrataError/unsupported(_:)`` in a read-only open.
    func refuseIfReadOnly() throws {
        if configuration.readOnly {
            throw StrataError.unsupported("writing to \(directory): the store was opened read-only (LogConfiguration.readOnly)")
        }
    }
}
