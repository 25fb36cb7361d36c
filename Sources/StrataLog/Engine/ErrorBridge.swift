import Foundation
import Strata
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

/// Turns the storage layer's errors into the contract's `StrataError`.
enum StrataErrorBridge {
    static func io(_ path: String, _ operation: String, _ code: Int32) -> StrataError {
        StrataError(StorageError(path: path, operation: operation, code: code))
    }

    static func convert(_ error: any Error) -> any Error {
        if let storage = error as? StorageError { return StrataError(storage) }
        guard let file = error as? FileError else { return error }
        switch file {
        case .io(let path, let operation, let code): return io(path, operation, code)
        case .corrupt(let path, let offset, let reason): return StrataError.corruption(path: path, offset: Int64(offset), reason: reason)
        case .unsupportedFormat(let path, let found, let supported):
            return StrataError.unsupportedFormat(path: path, found: found, supported: String(supported))
        case .notAStrataDirectory(let path):
            return StrataError.unsupportedFormat(path: path, found: "not a Strata data directory", supported: "strata-log 1")
        }
    }

    /// Runs `body`, converting storage errors.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw convert(error) }
    }
}
