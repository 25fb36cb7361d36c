import Glibc

/// The `LOCK` file of a data directory: whoever holds it is the directory's one writer.
///
/// Backed by `flock`, which locks an open file description: two `DirectoryLock`s on the same
/// directory exclude each other even inside one process, and the kernel releases the lock when
/// the process dies. Each call is one system call, cheap enough to take per write batch.
/// Not reentrant, and it does not order threads of one process: the engine does that.
final class DirectoryLock: Sendable {
    static let fileName = "LOCK"

    /// The LOCK file's path.
    let path: String
    private let descriptor: Int32

    /// Opens `directory/LOCK`, creating it (empty) when missing. Takes no lock.
    init(directory: String) throws {
        path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.lastIO(path: path, operation: "open") }
        descriptor = fd
    }

    deinit {
        close(descriptor) // also releases a held lock
    }

    /// Waits until this process holds the lock.
    func lock() throws {
        while flock(descriptor, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw FileError.lastIO(path: path, operation: "flock")
        }
    }

    /// Takes the lock if no one else holds it; returns whether it did. Never waits.
    func tryLock() throws -> Bool {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            switch errno {
            case EINTR: continue
            case EWOULDBLOCK: return false
            default: throw FileError.lastIO(path: path, operation: "flock")
            }
        }
        return true
    }

    /// Releases the lock.
    func unlock() {
        // LOCK_UN on a valid descriptor cannot fail in a way the caller could act on.
        _ = flock(descriptor, LOCK_UN)
    }
}
