import Foundation
@_spi(Machinery) import Strata
import StrataStorage
import StrataJSON
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints and parked events in a directory, one folder per consumer (format in
/// docs/CONSUMERS.md, version 1).
///
/// Every change is a durable atomic file replacement (write, fsync, rename, fsync directory).
/// The store cannot share a transaction with a read model, so consumers using it are
/// at-least-once: a crash after a handler ran and before its checkpoint was saved re-delivers
/// that batch.
///
/// Its leases are exclusive file locks (`flock(2)`) on `DIRECTORY/.leases/<name>.lock`: they
/// coordinate ``ConsumerGroupMember``s in any processes of one host, and a process that dies
/// loses its locks at once. They use the real file system, whatever `fileSystem` is.
public struct FileCheckpointStore: CheckpointStore, LeaseStore, SubscriptionDefinitionStore {
    public typealias Transaction = Void

    /// The directory holding one folder per consumer.
    public let directory: String
    /// Where the files live: the real file system, or a simulated disk in fault tests.
    public let fileSystem: any FileSystem
    private let locks = FileLeaseLocks()

    /// Opens (creating when missing) a checkpoint directory.
    public init(directory: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        self.directory = directory
        self.fileSystem = fileSystem
        try DurableFile.createDirectory(directory, fileSystem: fileSystem)
    }

    /// The names of the consumers that have a checkpoint or parked events here, sorted.
    public func consumers() throws -> [String] {
        let entries = (try? fileSystem.contentsOfDirectory(directory)) ?? []
        return entries.filter { !$0.hasPrefix(".") }.compactMap(SafeFileName.decode).sorted()
    }

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        try loadCheckpoint(consumer)
    }

    /// Reads a consumer's checkpoint synchronously (for tools).
    public func loadCheckpoint(_ consumer: String) throws -> UInt64? {
        let path = folder(consumer) + "/checkpoint.json"
        guard let data = try DurableFile.read(path, fileSystem: fileSystem) else { return nil }
        guard let record = try? StrataJSONDecoder().decode(CheckpointRecord.self, from: data) else {
            throw StrataError.corruption(path: path, offset: 0, reason: "not a checkpoint record")
        }
        guard record.version == CheckpointRecord.currentVersion else {
            throw StrataError.unsupportedFormat(path: path, found: "checkpoint v\(record.version)",
                                                supported: "checkpoint v\(CheckpointRecord.currentVersion)")
        }
        return record.position
    }

    public func commit<Result: Sendable>(
        consumer: String, through position: UInt64, _ work: (Transaction) async throws -> Result
    ) async throws -> Result {
        let result = try await work(())
        try save(consumer, position)
        return result
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        if let position {
            try save(consumer, position)
        } else {
            try DurableFile.remove(folder(consumer) + "/checkpoint.json", fileSystem: fileSystem)
        }
    }

    public func park(_ entry: ParkedEvent) async throws {
        let parked = folder(entry.consumer) + "/parked"
        try DurableFile.createDirectory(parked, fileSystem: fileSystem)
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(entry), to: parked + "/" + Self.fileName(entry.position), fileSystem: fileSystem)
    }

    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        guard limit > 0 else { return [] }
        let parked = folder(consumer) + "/parked"
        // Keep only the `limit` smallest positions after `position`: memory stays O(limit)
        // however many events are parked.
        var page: [UInt64] = []
        let floor = position ?? 0
        do {
            try fileSystem.forEachName(in: parked) { name in
                guard name.hasSuffix(".json"), name.count == 25, let p = UInt64(name.prefix(20)), p > floor else { return }
                if page.count == limit, let last = page.last, p >= last { return }
                let index = page.firstIndex { $0 > p } ?? page.endIndex
                page.insert(p, at: index)
                if page.count > limit { page.removeLast() }
            }
        } catch where error.code == ENOENT {
            return []
        } catch {
            throw StrataError(error)
        }
        let decoder = StrataJSONDecoder()
        return try page.compactMap { p in
            let path = parked + "/" + Self.fileName(p)
            guard let data = try DurableFile.read(path, fileSystem: fileSystem) else { return nil }
            do { return try decoder.decode(ParkedEvent.self, from: data) } catch {
                throw StrataError.corruption(path: path, offset: 0, reason: "not a parked-event record: \(error)")
            }
        }
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        try DurableFile.remove(folder(consumer) + "/parked/" + Self.fileName(position), fileSystem: fileSystem)
    }

    /// The store recorded in the consumer's `store.json` (docs/CONSUMERS.md, "Store binding").
    public func boundStore(consumer: String) async throws -> StoreIdentity? {
        try StoreBindingFile(path: folder(consumer) + "/store.json", fileSystem: fileSystem).load()
    }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        try StoreBindingFile(path: folder(consumer) + "/store.json", fileSystem: fileSystem).save(identity)
    }

    // MARK: Leases

    public func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease? {
        try await locks.acquire(name, owner: owner, directory: directory + "/.leases")
    }

    public func release(_ name: String, owner: String) async throws {
        locks.release(name, owner: owner)
    }

    public func leases(prefix: String) async throws -> [Lease] {
        try locks.leases(prefix: prefix, directory: directory + "/.leases")
    }

    // MARK: Persistent subscription definitions

    /// The records in `DIRECTORY/.subscriptions/<encoded key>.json`.
    public func definitions() async throws -> [String: Data] {
        let folder = directory + "/.subscriptions"
        var result: [String: Data] = [:]
        for name in (try? fileSystem.contentsOfDirectory(folder)) ?? [] where name.hasSuffix(".json") {
            guard let key = SafeFileName.decode(String(name.dropLast(5))),
                  let data = try DurableFile.read(folder + "/" + name, fileSystem: fileSystem) else { continue }
            result[key] = data
        }
        return result
    }

    public func saveDefinition(_ key: String, _ record: Data?) async throws {
        let folder = directory + "/.subscriptions"
        let path = folder + "/" + SafeFileName.encode(key) + ".json"
        if let record {
            try DurableFile.createDirectory(folder, fileSystem: fileSystem)
            try DurableFile.write(record, to: path, fileSystem: fileSystem)
        } else {
            try DurableFile.remove(path, fileSystem: fileSystem)
        }
    }

    private func save(_ consumer: String, _ position: UInt64) throws {
        let folder = folder(consumer)
        try DurableFile.createDirectory(folder, fileSystem: fileSystem)
        let record = CheckpointRecord(version: CheckpointRecord.currentVersion, position: position,
                                      updatedAtMicroseconds: currentMicroseconds())
        try DurableFile.write(try StrataJSONEncoder().encode(record), to: folder + "/checkpoint.json", fileSystem: fileSystem)
    }

    private func folder(_ consumer: String) -> String { directory + "/" + SafeFileName.encode(consumer) }

    private static func fileName(_ position: UInt64) -> String {
        let digits = String(position)
        return String(repeating: "0", count: 20 - digits.count) + digits + ".json"
    }
}

/// The checkpoint file's content.
struct CheckpointRecord: Codable {
    static let currentVersion = 1
    var version: Int
    var position: UInt64
    var updatedAtMicroseconds: Int64
}

