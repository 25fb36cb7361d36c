import Foundation
import StrataStorage

/// Small files replaced atomically and durably: checkpoints, state snapshots, parked entries.
///
/// ``write(_:to:fileSystem:)`` writes a temporary file beside the target, flushes it with
/// `fsync`, renames it over the target and flushes the directory. A reader sees either the old
/// file or the new one, never a mix, and after `write` returns the new one survives a crash or
/// power loss. Every call goes through the storage seam (`StrataStorage.FileSystem`): the real
/// file system by default, a `SimulatedDisk` in fault tests (docs/RELIABILITY.md).
@_spi(Machinery) public enum DurableFile {
    /// Replaces the file at `path` with `bytes`, atomically and durably.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when a system call fails.
    public static func write(_ bytes: some Collection<UInt8>, to path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        // A temporary name of this writer's own: several processes may replace the same file.
        let suffix = ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try run { try fileSystem.writeFileAtomically(path, Array(bytes), temporarySuffix: suffix) }
    }

    /// The bytes of the file at `path`, or `nil` when it does not exist.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` for any other failure.
    public static func read(_ path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws -> Data? {
        do {
            return Data(try fileSystem.readFile(path))
        } catch where error.code == ENOENT {
            return nil
        } catch {
            throw StrataError(error)
        }
    }

    /// Removes the file at `path` durably; a missing file is not an error.
    public static func remove(_ path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        do {
            try fileSystem.remove(path)
        } catch where error.code == ENOENT {
            return
        } catch {
            throw StrataError(error)
        }
        try syncDirectory(POSIXFileSystem.parent(of: path), fileSystem: fileSystem)
    }

    /// Creates `path` and its missing parents, each made durable in its parent.
    public static func createDirectory(_ path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        try run { try fileSystem.makeDirectories(path) }
    }

    /// Flushes a directory's entries (new, renamed or removed files) to disk.
    public static func syncDirectory(_ path: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        try run { try fileSystem.syncDirectory(path) }
    }

    private static func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StorageError { throw StrataError(error) }
    }
}

extension StrataError {
    /// The storage seam's error as the contract's: ``io(path:operation:reason:)`` naming the
    /// file, the operation, the OS error with its number, and what to do.
    public init(_ error: StorageError) {
        self = .io(path: error.path, operation: error.operation, reason: error.reason + (error.hint.map { ". " + $0 } ?? ""))
    }
}
