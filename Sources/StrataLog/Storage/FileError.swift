import Glibc
import StrataStorage

/// A failure reading or writing the files of a data directory, with the path and what to do.
enum FileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `operation` names it (`open`, `pwrite`, `fdatasync`, …).
    case io(path: String, operation: String, errno: Int32)
    /// Bytes on disk break the format at `offset` (a byte offset into the file at `path`).
    case corrupt(path: String, offset: Int, reason: String)
    /// The file declares a format or version this build does not read.
    case unsupportedFormat(path: String, found: String, supported: Int)
    /// The directory holds files but no `manifest.json`: it is not a Strata log directory.
    case notAStrataDirectory(path: String)

    var description: String {
        switch self {
        case let .io(path, operation, code):
            return StorageError(path: path, operation: operation, code: code).description
        case let .corrupt(path, offset, reason):
            return "'\(path)' is corrupt at byte offset \(offset): \(reason). "
                + "Run `strata verify` on the data directory to list every damaged file, "
                + "and restore the file from a backup or replica."
        case let .unsupportedFormat(path, found, supported):
            return "'\(path)' uses \(found), but this build of Strata reads version \(supported) only. "
                + "Open it with the Strata release that wrote it, or upgrade Strata."
        case let .notAStrataDirectory(path):
            return "'\(path)' is not empty and has no manifest.json, so it is not a Strata log directory. "
                + "Point Strata at an empty or new directory, or at one it created."
        }
    }
}

extension FileError {
    /// The storage seam's error as an `.io` error.
    init(_ error: StorageError) {
        self = .io(path: error.path, operation: error.operation, errno: error.code)
    }

    /// Runs `body`, turning the seam's errors into `FileError`.
    /// - Parameter path: the path to name in the error instead of the one the file was opened
    ///   at (a segment is opened as `….seg.tmp` and renamed).
    static func run<T>(path: String? = nil, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StorageError {
            throw FileError.io(path: path ?? error.path, operation: error.operation, errno: error.code)
        }
    }
}
