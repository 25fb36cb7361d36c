import Foundation
import Strata

/// Where checkpointed consumers keep their place, and the events they could not handle.
///
/// A checkpoint is the `$all` position of the last event a consumer has dealt with (handled or
/// parked). Consumers resume strictly after it.
///
/// `Transaction` is what a handler receives to write its read model. A store whose read models
/// can live beside the checkpoint (SQLite, PostgreSQL) hands the handler its open transaction and
/// commits the handler's writes and the new checkpoint together: effectively-once processing. A
/// store that cannot (a file, memory) uses `Void`: the handler's effects happen first and the
/// checkpoint is saved after them, so a crash in between re-delivers at most that batch
/// (at-least-once).
public protocol CheckpointStore<Transaction>: Sendable {
    /// What a handler receives to write inside the checkpoint's transaction.
    associatedtype Transaction

    /// The consumer's checkpoint, or `nil` when it has none (it starts from the beginning).
    func checkpoint(for consumer: String) async throws -> UInt64?

    /// Runs `work`, then records `position` as the consumer's checkpoint.
    ///
    /// A transactional store runs `work` inside a transaction and commits its writes with the
    /// checkpoint, or neither when `work` throws. A non-transactional store saves the checkpoint
    /// durably after `work` returns, and not at all when it throws.
    func commit<Result: Sendable>(
        consumer: String, through position: UInt64,
        _ work: (Transaction) async throws -> Result
    ) async throws -> Result

    /// Sets the consumer's checkpoint (`nil` forgets it, so the consumer replays from the start).
    func resetCheckpoint(for consumer: String, to position: UInt64?) async throws

    /// Records an event the consumer gave up on. Parking the same (consumer, position) twice keeps
    /// one entry, the newer.
    func park(_ entry: ParkedEvent) async throws

    /// Parked events of a consumer in position order, strictly after `position`, at most `limit`.
    /// Implementations read only the page they return, never the whole parked set.
    func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent]

    /// Removes a parked entry (after it was replayed successfully, or skipped). Removing an entry
    /// that does not exist does nothing.
    func unpark(consumer: String, position: UInt64) async throws

    /// The store the consumer's checkpoint was recorded for, or `nil` when none is recorded yet
    /// (docs/CONTRACT.md, "Store identity").
    func boundStore(consumer: String) async throws -> StoreIdentity?

    /// Records the store the consumer's checkpoint belongs to. Called once, before the first
    /// checkpoint is used (``bind(to:consumer:)``); a later call replaces the record (a deliberate re-bind).
    func bind(consumer: String, toStore identity: StoreIdentity) async throws
}

extension CheckpointStore {
    /// Binds the consumer's checkpoint to `store` on first use, and refuses a store other than
    /// the one it was recorded for: the one check every checkpointed reader makes before it
    /// resumes, beside `EventStore.checkResumable(from:consumer:)`.
    ///
    /// - Throws: ``StrataError/checkpointOfAnotherStore(consumer:recorded:actual:)``, or the
    ///   store's or the checkpoint store's error.
    public func bind(to store: any EventStore, consumer: String) async throws {
        let actual = try await store.identity()
        if try StoreIdentity.check(recorded: try await boundStore(consumer: consumer), actual: actual, consumer: consumer) {
            try await bind(consumer: consumer, toStore: actual)
        }
    }
}

/// An event a consumer could not handle after its retries, kept with the reason.
public struct ParkedEvent: Sendable, Hashable, Codable {
    /// The consumer that parked it.
    public var consumer: String
    /// The event's `$all` position: the key to read it again.
    public var position: UInt64
    /// The event's stream.
    public var stream: String
    /// The event's revision in its stream.
    public var revision: UInt64
    /// The event type.
    public var type: String
    /// The last error, as text.
    public var error: String
    /// How many times the handler was tried.
    public var attempts: Int
    /// When the event was parked, in microseconds since 1970 (UTC).
    public var parkedAtMicroseconds: Int64

    /// Creates a parked entry.
    public init(consumer: String, position: UInt64, stream: String, revision: UInt64, type: String,
                error: String, attempts: Int, parkedAtMicroseconds: Int64 = currentMicroseconds()) {
        self.consumer = consumer
        self.position = position
        self.stream = stream
        self.revision = revision
        self.type = type
        self.error = error
        self.attempts = attempts
        self.parkedAtMicroseconds = parkedAtMicroseconds
    }
}
