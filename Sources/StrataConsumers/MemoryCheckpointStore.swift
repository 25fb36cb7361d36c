import Foundation
import Strata

/// Checkpoints and parked events kept in memory: for tests and for consumers whose read model
/// is itself in memory and rebuilt at every start.
public final class MemoryCheckpointStore: CheckpointStore, @unchecked Sendable {
    public typealias Transaction = Void

    private let lock = NSLock()
    private var checkpoints: [String: UInt64] = [:]
    private var parkedEvents: [String: [UInt64: ParkedEvent]] = [:]
    private var stores: [String: StoreIdentity] = [:]

    /// Creates an empty store.
    public init() {}

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        lock.withLock { checkpoints[consumer] }
    }

    public func commit<Result: Sendable>(
        consumer: String, through position: UInt64, _ work: (Transaction) async throws -> Result
    ) async throws -> Result {
        let result = try await work(())
        lock.withLock { checkpoints[consumer] = position }
        return result
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        lock.withLock { checkpoints[consumer] = position }
    }

    public func park(_ entry: ParkedEvent) async throws {
        lock.withLock { parkedEvents[entry.consumer, default: [:]][entry.position] = entry }
    }

    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        lock.withLock {
            let all = parkedEvents[consumer]?.values.filter { $0.position > (position ?? 0) } ?? []
            return Array(all.sorted { $0.position < $1.position }.prefix(max(0, limit)))
        }
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        _ = lock.withLock { parkedEvents[consumer]?.removeValue(forKey: position) }
    }

    public func boundStore(consumer: String) async throws -> StoreIdentity? { lock.withLock { stores[consumer] } }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws { lock.withLock { stores[consumer] = identity } }
}
