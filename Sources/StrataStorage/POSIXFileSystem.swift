#if canImport(Glibc)
import Glibc
#endif

/// The real file system, through POSIX calls: `pread`/`pwrite`, `fdatasync`, `posix_fallocate`,
/// `mmap`, `flock`. Stateless; one shared instance serves every store.
public struct POSIXFileSystem: FileSystem {
    /// Creates the file system (it holds no state).
    public init() {}

    public func open(_ path: String, mode: OpenMode) throws(StorageError) -> any StorageFile {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .create: flags = O_RDWR | O_CREAT
        case .truncate: flags = O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .last(path: path, operation: "open") }
        return POSIXFile(path: path, descriptor: fd)
    }

    public func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        if Glibc.rename(source, destination) != 0 { throw .last(path: destination, operation: "rename") }
    }

    public func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0 { throw .last(path: path, operation: "unlink") }
    }

    public func syncDirectory(_ directory: String) throws(StorageError) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .last(path: directory, operation: "open") }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw .last(path: directory, operation: "fsync") }
    }

    public func makeDirectory(_ path: String) throws(StorageError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .last(path: path, operation: "mkdir") }
    }

    public func forEachName(in directory: String, _ body: (String) -> Void) throws(StorageError) {
        guard let dir = opendir(directory) else { throw .last(path: directory, operation: "opendir") }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { body(name) }
        }
    }

    public func fileSize(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    public func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    public func lockFile(_ path: String) throws(StorageError) -> any FileLock {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .last(path: path, operation: "open") }
        return POSIXFileLock(path: path, descriptor: fd)
    }
}

/// An open file descriptor. Sendable: the descriptor never changes; positional calls need no
/// shared offset, and the kernel orders concurrent calls.
final class POSIXFile: StorageFile {
    let path: String
    private let descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    func size() throws(StorageError) -> Int {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw .last(path: path, operation: "fstat") }
        return Int(info.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(StorageError) -> Int {
        var done = 0
        while done < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw .last(path: path, operation: "pread")
            }
            if count == 0 { break }
            done += count
        }
        return done
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(StorageError) {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw .last(path: path, operation: "pwrite")
            }
            done += count
        }
    }

    func sync() throws(StorageError) {
        if fdatasync(descriptor) != 0 { throw .last(path: path, operation: "fdatasync") }
    }

    func truncate(to size: Int) throws(StorageError) {
        if ftruncate(descriptor, off_t(size)) != 0 { throw .last(path: path, operation: "ftruncate") }
    }

    func allocate(_ size: Int) throws(StorageError) {
        let status = posix_fallocate(descriptor, 0, off_t(size))
        if status != 0 { throw StorageError(path: path, operation: "posix_fallocate", code: status) }
    }

    func map(size: Int) throws(StorageError) -> UnsafeRawBufferPointer {
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            throw .last(path: path, operation: "mmap")
        }
        return UnsafeRawBufferPointer(start: base, count: size)
    }

    func mapShared(size: Int) throws(StorageError) -> UnsafeMutableRawPointer {
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            throw .last(path: path, operation: "mmap")
        }
        return base
    }

    func unmap(_ base: UnsafeRawPointer, count: Int) {
        munmap(UnsafeMutableRawPointer(mutating: base), count)
    }

    func close() {
        Glibc.close(descriptor)
    }
}

/// `flock` on an open description: two locks exclude each other even inside one process, and
/// the kernel releases a dead process's lock.
final class POSIXFileLock: FileLock {
    let path: String
    private let descriptor: Int32

    init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    func lock() throws(StorageError) {
        while flock(descriptor, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw .last(path: path, operation: "flock")
        }
    }

    func tryLock() throws(StorageError) -> Bool {
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            switch errno {
            case EINTR: continue
            case EWOULDBLOCK: return false
            default: throw .last(path: path, operation: "flock")
            }
        }
        return true
    }

    func unlock() {
        _ = flock(descriptor, LOCK_UN)
    }
}
