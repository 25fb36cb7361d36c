import Foundation
@_spi(Machinery) import Strata
import StrataJSON

/// A consumer that folds events into a state and saves state and position together in one file
/// (simple-event-sourcing's `EventConsumer(snapshotFile, config, defaultState, handler)`).
///
/// After each batch the state and the position of its last event are written to a temporary
/// file, flushed, and renamed over the snapshot file. The file therefore always holds a state
/// and exactly the position it reflects: a restarted consumer resumes right after that position,
/// and nothing is applied twice or lost. A batch whose handler throws changes neither.
///
/// ```swift
/// let counter = StateFileConsumer(snapshotFile: "/var/lib/app/counts.json", store: store,
///                                 defaultState: [String: Int]()) { state, event in
///     state[event.type, default: 0] += 1
/// }
/// counter.start()
/// ```
public final class StateFileConsumer<State: Codable & Sendable>: Sendable {
    /// The handler: applies one event to the state.
    public typealias Handler = @Sendable (inout State, RecordedEvent) throws -> Void

    private let checkpoints: StateFileCheckpointStore<State>
    private let consumer: CheckpointedConsumer<StateFileCheckpointStore<State>>

    /// Creates a consumer over `store`, keeping its state in `snapshotFile` (created at the first
    /// batch). Parked events go to the folder `snapshotFile + ".parked"`.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` when the file exists but is not a
    ///   snapshot of this state type, ``StrataError/unsupportedFormat(path:found:supported:)``
    ///   for a newer snapshot version.
    public init(snapshotFile: String, store: any EventStore, options: ConsumerOptions = ConsumerOptions(),
                defaultState: State, handler: @escaping Handler) throws {
        let checkpoints = try StateFileCheckpointStore(path: snapshotFile, defaultState: defaultState)
        self.checkpoints = checkpoints
        self.consumer = CheckpointedConsumer(name: "state", store: store, checkpoints: checkpoints, options: options) { events, transaction in
            for event in events { try handler(&transaction.state, event) }
        }
    }

    /// The state as of the last saved batch.
    public var state: State { checkpoints.state }
    /// The position of the last event the state reflects (0: none).
    public var position: UInt64 { checkpoints.position }
    /// The underlying consumer: notifications, waits, status and parked events.
    public var base: CheckpointedConsumer<StateFileCheckpointStore<State>> { consumer }

    /// Starts consuming in a background task.
    public func start() { consumer.start() }
    /// Stops and waits.
    public func stop() async { await consumer.stop() }
    /// Runs in the calling task until cancelled.
    public func run() async throws { try await consumer.run() }
    /// Waits until the consumer reached the head once (`hasCaughtUp`).
    public func waitUntilCaughtUp(timeout: Duration = .seconds(30)) async throws {
        try await consumer.waitUntilCaughtUp(timeout: timeout)
    }
    /// Waits until every event up to `position` is in the state.
    public func waitUntilProcessed(through position: UInt64, timeout: Duration = .seconds(30)) async throws {
        try await consumer.waitUntilProcessed(through: position, timeout: timeout)
    }
}

/// The checkpoint store behind ``StateFileConsumer``: one snapshot file holding a state and its
/// position (format in docs/CONSUMERS.md, version 1). Its transaction is the working copy of the
/// state a batch changes.
public final class StateFileCheckpointStore<State: Codable & Sendable>: CheckpointStore, @unchecked Sendable {
    /// The working copy a batch changes; it replaces the saved state only when the file is written.
    public final class Transaction {
        /// The state being changed.
        public var state: State
        init(state: State) { self.state = state }
    }

    /// The snapshot file.
    public let path: String
    private let lock = NSLock()
    private var saved: Snapshot
    private let parking: FileCheckpointStore

    struct Snapshot: Codable {
        static var currentVersion: Int { 1 }
        var version: Int
        var position: UInt64
        var state: State
    }

    /// Opens the snapshot file, or starts from `defaultState` when there is none.
    public init(path: String, defaultState: State) throws {
        self.path = path
        if let data = try DurableFile.read(path) {
            let snapshot: Snapshot
            do { snapshot = try StrataJSONDecoder().decode(Snapshot.self, from: data) } catch {
                throw StrataError.corruption(path: path, offset: 0, reason: "not a state snapshot of \(State.self): \(error)")
            }
            guard snapshot.version == Snapshot.currentVersion else {
                throw StrataError.unsupportedFormat(path: path, found: "state snapshot v\(snapshot.version)",
                                                    supported: "state snapshot v\(Snapshot.currentVersion)")
            }
            saved = snapshot
        } else {
            saved = Snapshot(version: Snapshot.currentVersion, position: 0, state: defaultState)
        }
        parking = try FileCheckpointStore(directory: path + ".parked")
    }

    /// The saved state.
    public var state: State { lock.withLock { saved.state } }
    /// The saved position (0: none).
    public var position: UInt64 { lock.withLock { saved.position } }

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        let position = self.position
        return position == 0 ? nil : position
    }

    public func commit<Result: Sendable>(
        consumer: String, through position: UInt64, _ work: (Transaction) async throws -> Result
    ) async throws -> Result {
        let transaction = Transaction(state: state)
        let result = try await work(transaction)
        try save(Snapshot(version: Snapshot.currentVersion, position: position, state: transaction.state))
        return result
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        let state = self.state
        try save(Snapshot(version: Snapshot.currentVersion, position: position ?? 0, state: state))
    }

    public func park(_ entry: ParkedEvent) async throws { try await parking.park(entry) }

    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        try await parking.parked(consumer: consumer, after: position, limit: limit)
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        try await parking.unpark(consumer: consumer, position: position)
    }

    /// The store recorded beside the snapshot file, in its parked-events folder
    /// (`FILE.parked/{consumer}/store.json`).
    public func boundStore(consumer: String) async throws -> StoreIdentity? { try await parking.boundStore(consumer: consumer) }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        try await parking.bind(consumer: consumer, toStore: identity)
    }

    private func save(_ snapshot: Snapshot) throws {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(snapshot), to: path)
        lock.withLock { saved = snapshot }
    }
}
