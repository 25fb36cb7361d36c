import Foundation
@_spi(Machinery) import Strata
import StrataJSON
import StrataStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The file-lock leases of one ``FileCheckpointStore`` value: an exclusive `flock(2)` per lease
/// on `<leases folder>/<encoded name>.lock`, held by an open descriptor (docs/CONSUMERS.md,
/// "Leases", lease file version 1).
///
/// `flock` locks belong to an open file description, so two stores in one process conflict as
/// two processes do, and closing another descriptor of the file never drops a lock.
final class FileLeaseLocks: Sendable {
    private struct Held {
        var lease: Lease
        var descriptor: Int32
    }

    private struct Record: Codable {
        static let currentVersion = 1
        var version: Int
        var name: String
        var owner: String
        var token: UInt64
        var acquiredAtMicroseconds: Int64
    }

    private let held = Mutex<[String: Held]>([:])

    deinit {
        held.withLock { table in
            for entry in table.values { close(entry.descriptor) }
        }
    }

    /// Takes the lease's lock. A lock that is busy may be held by its owner or, for a few
    /// microseconds, by another value's ``leases(prefix:directory:)`` probing it: a busy lock is
    /// tried again a few times, 2 ms apart, before the answer is "held".
    func acquire(_ name: String, owner: String, directory: String) async throws -> Lease? {
        for round in 1 ... 5 {
            switch try attempt(name, owner: owner, directory: directory) {
            case .taken(let lease): return lease
            case .heldHere: return nil
            case .busy:
                if round < 5 { try await Task.sleep(for: .milliseconds(2)) }
            }
        }
        return nil
    }

    private enum Attempt {
        case taken(Lease)
        case heldHere
        case busy
    }

    private func attempt(_ name: String, owner: String, directory: String) throws -> Attempt {
        try held.withLock { table -> Attempt in
            if let entry = table[name] { return entry.lease.owner == owner ? .taken(entry.lease) : .heldHere }
            try DurableFile.createDirectory(directory, fileSystem: POSIXFileSystem())
            let path = directory + "/" + SafeFileName.encode(name) + ".lock"
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw Self.failure(path, "open") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                close(descriptor)
                if code == EWOULDBLOCK { return .busy }
                throw StrataError.io(path: path, operation: "flock", reason: String(cString: strerror(code)))
            }
            do {
                let previous = Self.read(descriptor)
                let token = previous.map { $0.owner == owner ? $0.token : $0.token + 1 } ?? 1
                let record = Record(version: Record.currentVersion, name: name, owner: owner, token: token,
                                    acquiredAtMicroseconds: currentMicroseconds())
                try Self.write(record, to: descriptor, path: path)
                let lease = Lease(name: name, owner: owner, token: token, expiresAtMicroseconds: nil)
                table[name] = Held(lease: lease, descriptor: descriptor)
                return .taken(lease)
            } catch {
                close(descriptor)
                throw error
            }
        }
    }

    func release(_ name: String, owner: String) {
        held.withLock { table in
            guard let entry = table[name], entry.lease.owner == owner else { return }
            close(entry.descriptor)   // drops the lock
            table[name] = nil
        }
    }

    /// The leases held here, and those other descriptors (processes) hold: a lock file whose
    /// shared lock cannot be taken is held.
    func leases(prefix: String, directory: String) throws -> [Lease] {
        let mine = held.withLock { table in table.values.map(\.lease) }
        var result = mine.filter { $0.name.hasPrefix(prefix) }
        let names = Set(mine.map(\.name))
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            return result.sorted { $0.name < $1.name }
        }
        for file in entries where file.hasSuffix(".lock") {
            guard let name = SafeFileName.decode(String(file.dropLast(5))), name.hasPrefix(prefix), !names.contains(name) else { continue }
            let descriptor = open(directory + "/" + file, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { continue }   // nobody holds it
            // Held; a holder still writing its record is left out until the next look.
            if let record = Self.read(descriptor), record.name == name {
                result.append(Lease(name: name, owner: record.owner, token: record.token, expiresAtMicroseconds: nil))
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    private static func read(_ descriptor: Int32) -> Record? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        guard let record = try? StrataJSONDecoder().decode(Record.self, from: Data(buffer[0 ..< count])),
              record.version == Record.currentVersion else { return nil }
        return record
    }

    private static func write(_ record: Record, to descriptor: Int32, path: String) throws {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = [UInt8](try encoder.encode(record))
        guard ftruncate(descriptor, 0) == 0 else { throw failure(path, "ftruncate") }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw failure(path, "pwrite") }
        guard fsync(descriptor) == 0 else { throw failure(path, "fsync") }
    }

    private static func failure(_ path: String, _ operation: String) -> StrataError {
        StrataError.io(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}
