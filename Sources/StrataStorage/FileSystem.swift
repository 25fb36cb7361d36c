/// The storage seam: every file operation a durable writer needs, behind one small protocol.
///
/// Strata's log engine (and the checkpoint stores) reach the disk only through a ``FileSystem``.
/// Production uses ``POSIXFileSystem``; the crash and fault tests use ``SimulatedDisk``, which
/// keeps what was written apart from what was synced, loses unsynced bytes at a simulated power
/// loss and fails chosen operations on purpose (docs/RELIABILITY.md).
///
/// Paths are plain strings, as the engine builds them (`<directory>/segments/<name>`).
public protocol FileSystem: Sendable {
    /// Opens (and with ``OpenMode/create`` or ``OpenMode/truncate`` creates) the file at `path`.
    func open(_ path: String, mode: OpenMode) throws(StorageError) -> any StorageFile
    /// Whether something (a file or a directory) exists at `path`.
    func exists(_ path: String) -> Bool
    /// Atomically renames `source` to `destination`, replacing it. Durable after ``syncDirectory(_:)``.
    func rename(_ source: String, to destination: String) throws(StorageError)
    /// Removes the file at `path` (`ENOENT` when there is none). Durable after ``syncDirectory(_:)``.
    func remove(_ path: String) throws(StorageError)
    /// Makes creations, renames and removals of the entries of `directory` durable (fsync of the directory).
    func syncDirectory(_ directory: String) throws(StorageError)
    /// Creates one directory; an existing directory is not an error.
    func makeDirectory(_ path: String) throws(StorageError)
    /// Calls `body` with each name in `directory` (not `.` and `..`), in no particular order,
    /// without holding them all (a folder may hold many entries).
    func forEachName(in directory: String, _ body: (String) -> Void) throws(StorageError)
    /// The size of the file at `path` in bytes, or nil when there is none.
    func fileSize(_ path: String) -> Int?
    /// When the file at `path` was last modified, in seconds since the Unix epoch, or nil.
    func modificationTime(_ path: String) -> Double?
    /// An advisory exclusive lock on the file at `path` (created when missing). Two locks on one
    /// path exclude each other, in one process or several.
    func lockFile(_ path: String) throws(StorageError) -> any FileLock
}

/// How ``FileSystem/open(_:mode:)`` opens a file.
public enum OpenMode: Sendable, Hashable {
    /// Read only; the file must exist.
    case readOnly
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write, creating an empty file when missing.
    case create
    /// Read and write, creating the file or emptying an existing one.
    case truncate
}

/// One open file.
///
/// Reads and writes are positional and complete (implementations retry short transfers and
/// `EINTR`); a failure is a ``StorageError`` naming the file, the operation and the OS error.
public protocol StorageFile: AnyObject, Sendable {
    /// The path the file was opened at.
    var path: String { get }
    /// The file's current size.
    func size() throws(StorageError) -> Int
    /// Reads up to `buffer.count` bytes at `offset`; returns how many (fewer only at the end of the file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(StorageError) -> Int
    /// Writes every byte of `bytes` at `offset`, growing the file when needed.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(StorageError)
    /// Makes every write so far durable (`fdatasync`). After a failure, writes made before it
    /// must be treated as lost: the caller may not trust what it reads back (docs/RELIABILITY.md).
    func sync() throws(StorageError)
    /// Sets the file's size, cutting or zero-extending it.
    func truncate(to size: Int) throws(StorageError)
    /// Reserves disk blocks so that the file is at least `size` bytes (`posix_fallocate`).
    func allocate(_ size: Int) throws(StorageError)
    /// Maps the first `size` bytes read-only and shared: later writes to the file show in the
    /// mapping. Valid until ``unmap(_:)`` or ``close()``.
    func map(size: Int) throws(StorageError) -> UnsafeRawBufferPointer
    /// Maps the first `size` bytes read-write and shared between every process that maps the
    /// file (a shared-memory page; what is stored through it is not made durable).
    func mapShared(size: Int) throws(StorageError) -> UnsafeMutableRawPointer
    /// Releases a mapping made by ``map(size:)`` or ``mapShared(size:)``.
    func unmap(_ base: UnsafeRawPointer, count: Int)
    /// Closes the file. Further calls fail with `EBADF`.
    func close()
}

/// An exclusive advisory lock on one file (see ``FileSystem/lockFile(_:)``).
public protocol FileLock: AnyObject, Sendable {
    /// The lock file's path.
    var path: String { get }
    /// Waits until this lock is held.
    func lock() throws(StorageError)
    /// Takes the lock when nobody holds it; returns whether it did. Never waits.
    func tryLock() throws(StorageError) -> Bool
    /// Releases the lock.
    func unlock()
}

extension FileSystem {
    /// The names in `directory` (not `.` and `..`), in no particular order.
    public func contentsOfDirectory(_ directory: String) throws(StorageError) -> [String] {
        var names: [String] = []
        try forEachName(in: directory) { names.append($0) }
        return names
    }

    /// `mkdir -p`, making each directory it creates durable in its parent.
    public func makeDirectories(_ path: String) throws(StorageError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            if !exists(current) {
                try makeDirectory(current)
                try syncDirectory(parent)
            }
        }
    }

    /// The whole contents of the file at `path`.
    public func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let file = try open(path, mode: .readOnly)
        defer { file.close() }
        let size = try file.size()
        var bytes = [UInt8](repeating: 0, count: size)
        var failure: StorageError?
        let count = bytes.withUnsafeMutableBytes { buffer -> Int in
            do throws(StorageError) { return try file.read(into: buffer, at: 0) } catch { failure = error; return 0 }
        }
        if let failure { throw failure }
        bytes.removeLast(size - count)
        return bytes
    }

    /// Replaces the file at `path` with `bytes` atomically and durably: a temporary file is
    /// written and synced, renamed over `path`, and the directory synced. After a crash the file
    /// holds the old contents or the new ones, never a mix.
    public func writeFileAtomically(_ path: String, _ bytes: [UInt8], temporarySuffix: String = ".tmp") throws(StorageError) {
        let temporary = path + temporarySuffix
        let file = try open(temporary, mode: .truncate)
        do throws(StorageError) {
            var failure: StorageError?
            bytes.withUnsafeBytes { raw in
                do throws(StorageError) { try file.write(raw, at: 0) } catch { failure = error }
            }
            if let failure { throw failure }
            try file.sync()
            file.close()
        } catch {
            file.close()
            try? remove(temporary)
            throw error
        }
        try rename(temporary, to: path)
        try syncDirectory(Self.parent(of: path))
    }

    /// The directory part of `path` (`.` when it has none).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
