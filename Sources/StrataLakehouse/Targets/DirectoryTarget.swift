import Foundation
@_spi(Machinery) import Strata
#if canImport(Glibc)
import Glibc
#endif

/// A local directory as the lakehouse: files are staged in `ROOT/_staging/` and renamed into
/// `ROOT/events/yyyy/mm/dd/hh/`, with the directories flushed, so a file either is absent or is
/// complete, also after a crash. The export journal lives in `ROOT/_state/`.
public struct DirectoryTarget: ExportTarget {
    /// The lakehouse root (holding `events/`).
    public let root: String

    /// Creates (when missing) the root directory.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when it cannot be created.
    public init(root: String) throws {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        try DurableFile.createDirectory(self.root)
    }

    public var stagingDirectory: String { root + "/_staging" }
    public var location: String { root }

    public func publish(stagedFile: String, key: String) async throws {
        let destination = root + "/" + key
        let directory = (destination as NSString).deletingLastPathComponent
        try createDirectories(directory)
        if rename(stagedFile, destination) != 0 {
            let code = errno
            // A retry after a rename that succeeded (and a directory flush that did not).
            if code == ENOENT, access(destination, F_OK) == 0 {
                try DurableFile.syncDirectory(directory)
                return
            }
            throw StrataError.io(path: destination, operation: "rename", reason: String(cString: strerror(code)))
        }
        try DurableFile.syncDirectory(directory)
    }

    public func remove(key: String) async throws {
        try DurableFile.remove(root + "/" + key)
    }

    public func readState(key: String) async throws -> [UInt8]? {
        try DurableFile.read(root + "/" + key).map { [UInt8]($0) }
    }

    /// Writes `ROOT/{key}` through a temporary file, `fsync` and rename (`DurableFile`), creating
    /// its folder when missing.
    public func writeState(_ bytes: [UInt8], key: String) async throws {
        let path = root + "/" + key
        try createDirectories((path as NSString).deletingLastPathComponent)
        try DurableFile.write(bytes, to: path)
    }

    /// Creates `directory` and missing parents, flushing each parent whose entries changed so
    /// that the new directories survive a crash.
    private func createDirectories(_ directory: String) throws {
        var missing: [String] = []
        var path = directory
        while access(path, F_OK) != 0, path != root, path != "/" {
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        guard !missing.isEmpty else { return }
        for dir in missing.reversed() {
            if mkdir(dir, 0o755) != 0 && errno != EEXIST {
                throw StrataError.io(path: dir, operation: "mkdir", reason: String(cString: strerror(errno)))
            }
            try DurableFile.syncDirectory((dir as NSString).deletingLastPathComponent)
        }
    }
}
