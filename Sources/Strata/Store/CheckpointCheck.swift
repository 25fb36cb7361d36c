extension EventStore {
    /// Checks that a saved checkpoint can be resumed on this store: a checkpoint is the position
    /// of the last event a reader dealt with, so it is never beyond the store's head. One beyond
    /// it belongs to another store (or the store was restored from an older copy); resuming from
    /// it would silently skip every event up to it. Every reader that resumes from a saved
    /// position (``Subscription`` users, `CheckpointedConsumer` and what is built on it: state-file
    /// consumers, projectors, document views, the lakehouse exporter, the emitter's shipper) calls
    /// this one check before its first read.
    ///
    /// ```swift
    /// let checkpoint = try await checkpoints.checkpoint(for: "emails") ?? 0
    /// try await store.checkResumable(from: checkpoint, consumer: "emails")
    /// ```
    ///
    /// - Returns: the store's head position when checked (0 when `checkpoint` is 0: nothing to check).
    /// - Throws: ``StrataError/checkpointAheadOfStore(consumer:checkpoint:head:)``, or the store's error.
    @discardableResult
    public func checkResumable(from checkpoint: UInt64, consumer: String) async throws -> UInt64 {
        guard checkpoint > 0 else { return 0 }
        let head = try await headPosition()
        guard checkpoint <= head else {
            throw StrataError.checkpointAheadOfStore(consumer: consumer, checkpoint: checkpoint, head: head)
        }
        return head
    }
}
