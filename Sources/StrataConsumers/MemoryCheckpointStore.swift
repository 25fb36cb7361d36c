import Foundation
import Strata

/// Checkpoints and parked events kept in memory: for tests and for consumers whose read model
/// is itself in memory and rebuilt at every start. Its leases coordinate the members of a
/// ``ConsumerGroupMember`` group within one process.
public final class MemoryCheckpointStore: CheckpointStore, LeaseStore, SubscriptionDefinitionStore, @unchecked Sendable {
    public typealias Transaction = Void

    private let lock = NSLock()
    private var checkpoints: [String: UInt64] = [:]
    private var parkedEvents: [String: [UInt64: ParkedEvent]] = [:]
    private var stores: [String: StoreIdentity] = [:]
    private var leaseTable: [String: Lease] = [:]
    private var records: [String: Data] = [:]

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

    // MARK: Leases

    public func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease? {
        let now = currentMicroseconds()
        return lock.withLock {
            let current = leaseTable[name]
            if let current, current.owner != owner, (current.expiresAtMicroseconds ?? .max) > now { return nil }
            let token = current.map { $0.owner == owner && ($0.expiresAtMicroseconds ?? .max) > now ? $0.token : $0.token + 1 } ?? 1
            let lease = Lease(name: name, owner: owner, token: token, expiresAtMicroseconds: now + duration.microseconds)
            leaseTable[name] = lease
            return lease
        }
    }

    public func release(_ name: String, owner: String) async throws {
        lock.withLock {
            // Lapsed rather than removed, so that the next owner's token still grows.
            if leaseTable[name]?.owner == owner { leaseTable[name]?.expiresAtMicroseconds = 0 }
        }
    }

    public func leases(prefix: String) async throws -> [Lease] {
        let now = currentMicroseconds()
        return lock.withLock {
            leaseTable.values.filter { $0.name.hasPrefix(prefix) && ($0.expiresAtMicroseconds ?? .max) > now }.sorted { $0.name < $1.name }
        }
    }

    // MARK: Persistent subscription definitions

    public func definitions() async throws -> [String: Data] { lock.withLock { records } }

    public func saveDefinition(_ key: String, _ record: Data?) async throws { lock.withLock { records[key] = record } }
}
