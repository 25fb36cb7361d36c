#if canImport(Glibc)
import Glibc
#endif

/// A file operation that failed: the file, the operation (`open`, `pwrite`, `fdatasync`, …) and
/// the operating system's error number.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file or directory the operation was on.
    public var path: String
    /// The system call or operation that failed.
    public var operation: String
    /// The OS error number (`EIO`, `ENOSPC`, …).
    public var code: Int32

    /// Creates an error.
    public init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    /// An error from the current `errno`.
    public static func last(path: String, operation: String) -> StorageError {
        StorageError(path: path, operation: operation, code: errno)
    }

    /// The OS's text for ``code``, with the number: "No space left on device (errno 28)".
    public var reason: String {
        let text = strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(text) (errno \(code))"
    }

    /// What a person can do about it, when there is something specific.
    public var hint: String? {
        switch code {
        case ENOSPC, EDQUOT: return "Free disk space or raise the quota, then reopen the store."
        case EACCES, EPERM, EROFS: return "Check the directory's permissions and that the file system is writable."
        case ENOENT: return "Check that the path exists."
        case EMFILE, ENFILE: return "Raise the open-file limit (ulimit -n)."
        case EIO: return "The device reported an I/O error: check the disk (dmesg), then reopen the store; run `strata verify`."
        default: return nil
        }
    }

    public var description: String {
        "\(operation) failed for '\(path)': \(reason)." + (hint.map { " " + $0 } ?? "")
    }
}
