import Strata
import StrataConsumers

/// The exporter's checkpoint store: a ``FileCheckpointStore`` whose commits save only what the
/// ``ExportWriter`` has published. The consumer reads on from its in-memory position; the saved
/// checkpoint lags behind while a file is open, so a crash re-exports that file's events.
struct ExportCheckpoints: CheckpointStore {
    typealias Transaction = Void

    let base: FileCheckpointStore
    let writer: ExportWriter

    func checkpoint(for consumer: String) async throws -> UInt64? {
        try await base.checkpoint(for: consumer)
    }

    func commit<Result: Sendable>(consumer: String, through position: UInt64,
                                  _ work: (Transaction) async throws -> Result) async throws -> Result {
        let result = try await work(())
        try await writer.committed(through: position)
        return result
    }

    func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        try await base.resetCheckpoint(for: consumer, to: position)
    }

    func park(_ entry: ParkedEvent) async throws { try await base.park(entry) }

    func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        try await base.parked(consumer: consumer, after: position, limit: limit)
    }

    func unpark(consumer: String, position: UInt64) async throws {
        try await base.unpark(consumer: consumer, position: position)
    }

    func boundStore(consumer: String) async throws -> StoreIdentity? { try await base.boundStore(consumer: consumer) }

    func bind(consumer: String, toStore identity: StoreIdentity) async throws { try await base.bind(consumer: consumer, toStore: identity) }
}
