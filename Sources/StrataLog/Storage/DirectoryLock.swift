import StrataStorage

/// The `LOCK` file of a data directory: whoever holds it is the directory's one writer.
///
/// Backed by the file system's lock (`flock` on POSIX), which locks an open file description:
/// two `DirectoryLock`s on the same directory exclude each other even inside one process, and
/// the kernel releases the lock when the process dies. Each call is one system call, cheap
/// enough to take per write batch. Not reentrant, and it does not order threads of one process:
/// the engine does that.
final class DirectoryLock: Sendable {
    static let fileName = "LOCK"

    /// The LOCK file's path.
    var path: String { lockFile.path }
    private let lockFile: any FileLock

    /// Opens `directory/LOCK`, creating it (empty) when missing. Takes no lock.
    init(directory: String, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        lockFile = try FileError.run { try fileSystem.lockFile(directory + "/" + Self.fileName) }
    }

    /// Waits until this process holds the lock.
    func lock() throws {
        try FileError.run { try lockFile.lock() }
    }

    /// Takes the lock if no one else holds it; returns whether it did. Never waits.
    func tryLock() throws -> Bool {
        try FileError.run { try lockFile.tryLock() }
    }

    /// Releases the lock.
    func unlock() {
        lockFile.unlock()
    }
}
