import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small files replaced atomically and durably: checkpoints, state snapshots, parked entries.
///
/// ``write(_:to:)`` writes a temporary file beside the target, flushes it with `fsync`, renames
/// it over the target and flushes the directory. A reader sees either the old file or the new
/// one, never a mix, and after `write` returns the new one survives a crash or power loss.
public enum DurableFile {
    /// Replaces the file at `path` with `bytes`, atomically and durably.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when a system call fails.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(temporary, "open") }
        do {
            let buffer = Array(bytes)
            var written = 0
            while written < buffer.count {
                let n = buffer.withUnsafeBytes { raw in
                    Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(temporary, "write")
                }
                written += n
            }
            if fsync(fd) != 0 { throw failure(temporary, "fsync") }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let error = failure(path, "rename")
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// The bytes of the file at `path`, or `nil` when it does not exist.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` for any other failure.
    public static func read(_ path: String) throws -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure(path, "open")
        }
        defer { close(fd) }
        var result = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, "read")
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0 ..< n])
        }
        return result
    }

    /// Removes the file at `path` durably; a missing file is not an error.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0 {
            if errno == ENOENT { return }
            throw failure(path, "unlink")
        }
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Creates `path` and its missing parents.
    public static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StrataError.io(path: path, operation: "mkdir", reason: "\(error)")
        }
    }

    /// Flushes a directory's entries (new, renamed or removed files) to disk.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, "open directory") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw failure(path, "fsync directory") }
    }

    private static func failure(_ path: String, _ operation: String) -> StrataError {
        .io(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}
