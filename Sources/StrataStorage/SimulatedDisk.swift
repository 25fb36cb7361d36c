import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A disk in memory for crash and fault tests: it keeps what was written apart from what was
/// synced, loses unsynced bytes at a simulated power loss, and fails chosen operations.
///
/// Every file has a *page-cache* image (what reads and mappings show) and a *durable* image
/// (what survives a power loss), with the writes made since the last sync kept in order.
/// Directory entries work the same way: creations, renames and removals become durable when
/// their directory is synced. ``powerLoss(_:)`` ends the current "boot" (every file, lock and
/// mapping opened through it fails from then on with `EIO`) and decides, from the disk's seed,
/// what became of each unsynced write: all kept, none kept, a prefix kept, or 512-byte sectors
/// torn (some kept, others not). ``inject(_:)`` fails a chosen operation with `EIO`, `ENOSPC`, a
/// short write or a failed sync; after a failed sync the pending writes of that file are never
/// made durable, as Linux drops dirty pages whose writeback failed (docs/RELIABILITY.md).
///
/// ```swift
/// let disk = SimulatedDisk(seed: 42)
/// let store = try LogEventStore(directory: "/sim/store", fileSystem: disk.fileSystem())
/// …
/// disk.powerLoss()          // the old store is dead; open a new one on disk.fileSystem()
/// ```
public final class SimulatedDisk: @unchecked Sendable {
    // Safe to share: every stored property is guarded by `condition`'s lock.

    /// What happens to unsynced writes at a power loss.
    public enum LossMode: String, Sendable, CaseIterable {
        /// Every unsynced write reached the disk.
        case keepAll
        /// None did.
        case keepNone
        /// The oldest writes did, up to a random point (the write at that point partly, by sectors).
        case keepPrefix
        /// Each 512-byte sector of each unsynced write independently did or did not.
        case tornSectors
    }

    /// A fault to inject: the `skip + 1`-th matching operation fails.
    public struct Fault: Sendable, Hashable, CustomStringConvertible {
        /// Which operations a fault matches.
        public enum Operation: String, Sendable, Hashable, CaseIterable {
            /// Opening or creating a file, and creating a directory.
            case open
            /// `pread`, `fstat` and directory listings.
            case read
            /// `pwrite`.
            case write
            /// `fdatasync` of a file.
            case sync
            /// fsync of a directory.
            case syncDirectory
            /// rename.
            case rename
            /// unlink.
            case remove
            /// `posix_fallocate`.
            case allocate
            /// `ftruncate`.
            case truncate
            /// `mmap`, read-only or shared.
            case map
            /// Every operation.
            case any
        }
        /// How the operation fails.
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            /// `EIO`; nothing happens.
            case ioError
            /// `ENOSPC`; nothing happens.
            case noSpace
            /// A write stores part of its bytes (whole sectors), then fails with `ENOSPC`.
            case shortWrite
            /// A sync fails with `EIO`, and the file's unsynced writes will never become durable.
            case syncFailure
        }
        /// The operations it matches.
        public var operation: Operation
        /// How the matching operation fails.
        public var kind: Kind
        /// Only paths containing this text (nil: any path).
        public var pathContains: String?
        /// How many matching operations succeed before the one that fails.
        public var skip: Int
        /// How many matching operations fail, one after the other (`Int.max`: every one, a dead device).
        public var times: Int

        /// Creates a fault.
        public init(_ operation: Operation, _ kind: Kind, pathContains: String? = nil, skip: Int = 0, times: Int = 1) {
            self.operation = operation
            self.kind = kind
            self.pathContains = pathContains
            self.skip = skip
            self.times = times
        }

        public var description: String {
            "\(kind) on \(operation)" + (pathContains.map { " of *\($0)*" } ?? "") + " after \(skip)"
        }
    }

    /// What a power loss did.
    public struct PowerLossReport: Sendable, CustomStringConvertible {
        /// What happened to unsynced writes.
        public var mode: LossMode
        /// Unsynced writes (and size changes) that reached the disk, and those that did not.
        public var writesKept = 0, writesLost = 0, writesTorn = 0
        /// Unsynced directory changes kept and lost.
        public var entriesKept = 0, entriesLost = 0
        public var description: String {
            "power loss (\(mode.rawValue)): writes kept \(writesKept), lost \(writesLost), torn \(writesTorn); entries kept \(entriesKept), lost \(entriesLost)"
        }
    }

    static let sectorSize = 512

    private enum Change {
        case write(offset: Int, bytes: [UInt8])
        case resize(Int)
    }

    private enum EntryChange {
        case link(String, Int)
        case unlink(String)
        case rename(String, String, Int)
        case makeDirectory(String)

        var directories: [String] {
            switch self {
            case .link(let p, _), .unlink(let p), .makeDirectory(let p): return [parent(p)]
            case .rename(let a, let b, _): return [parent(a), parent(b)]
            }
        }
    }

    private final class Inode {
        var data: [UInt8] = []
        var durable: [UInt8] = []
        var pending: [Change] = []
        var modified: Double = 0
        /// Read-only mappings of the current boot, updated on every write.
        var mappings: [UnsafeMutableRawBufferPointer] = []
        var shared: SharedPage?
    }

    /// A shared read-write page; freed when the last handle that mapped it lets go.
    final class SharedPage {
        let base: UnsafeMutableRawPointer
        let count: Int
        init(count: Int) {
            base = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 4096)
            base.initializeMemory(as: UInt8.self, repeating: 0, count: count)
            self.count = count
        }
        deinit { base.deallocate() }
    }

    private let condition = NSCondition()
    private var random: SplitMix64
    private var inodes: [Int: Inode] = [:]
    private var nextInode = 1
    private var names: [String: Int] = [:]
    private var durableNames: [String: Int] = [:]
    private var directories: Set<String> = ["/"]
    private var durableDirectories: Set<String> = ["/"]
    private var pendingEntries: [EntryChange] = []
    private var faults: [Fault] = []
    private var lockOwners: [String: ObjectIdentifier] = [:]
    private var clock: Double = 1_700_000_000
    /// The current boot; handles of earlier boots fail with EIO.
    private(set) var boot = 0
    /// Faults that fired, in order.
    public private(set) var firedFaults: [Fault] = []
    /// Operations performed (every call into the disk), for choosing fault points.
    public private(set) var operationCount = 0
    /// When set, writes and allocations that would make the files' total size exceed it fail with ENOSPC.
    public var capacity: Int? {
        get { locked { storedCapacity } }
        set { locked { storedCapacity = newValue } }
    }
    private var storedCapacity: Int?

    /// A disk whose power-loss choices are drawn from `seed`.
    public init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// The file system of the current boot.
    public func fileSystem() -> any FileSystem {
        SimulatedFileSystem(disk: self, boot: locked { boot })
    }

    /// Arms a fault.
    public func inject(_ fault: Fault) { locked { faults.append(fault) } }

    /// Disarms every fault and armed power loss that has not fired.
    public func clearFaults() {
        locked {
            faults.removeAll()
            powerLossAt = nil
        }
    }

    /// How many power losses happened.
    public var powerLossCount: Int { locked { boot } }

    /// Cuts the power: the current boot ends and unsynced writes and directory changes are kept
    /// or lost as `mode` says (drawn from the seed when nil).
    @discardableResult
    public func powerLoss(_ mode: LossMode? = nil) -> PowerLossReport {
        locked { performPowerLoss(mode) }
    }

    /// Cuts the power when the disk has performed `count` more operations: that operation
    /// fails with `EIO`, as does everything of the current boot after it.
    public func powerLoss(afterOperations count: Int, mode: LossMode? = nil) {
        locked {
            powerLossAt = operationCount + Swift.max(1, count)
            powerLossMode = mode
        }
    }

    /// Whether a power loss armed with ``powerLoss(afterOperations:)`` has not happened yet.
    public var powerLossPending: Bool { locked { powerLossAt != nil } }

    /// The report of the last power loss.
    public var lastPowerLoss: PowerLossReport? { locked { lastReport } }

    private var powerLossAt: Int?
    private var powerLossMode: LossMode?
    private var lastReport: PowerLossReport?

    private func performPowerLoss(_ mode: LossMode?) -> PowerLossReport {
        do {
            let mode = mode ?? LossMode.allCases[random.below(LossMode.allCases.count)]
            var report = PowerLossReport(mode: mode)
            // Directory entries: a prefix of the pending changes survives (journals keep order).
            let keptEntries: Int
            switch mode {
            case .keepAll: keptEntries = pendingEntries.count
            case .keepNone: keptEntries = 0
            case .keepPrefix, .tornSectors: keptEntries = random.below(pendingEntries.count + 1)
            }
            for change in pendingEntries.prefix(keptEntries) { applyDurably(change) }
            report.entriesKept = keptEntries
            report.entriesLost = pendingEntries.count - keptEntries
            pendingEntries.removeAll()
            names = durableNames
            directories = durableDirectories
            // File contents.
            for inode in inodes.values {
                var image = inode.durable
                let cut: Int
                switch mode {
                case .keepAll: cut = inode.pending.count
                case .keepNone: cut = 0
                case .keepPrefix: cut = random.below(inode.pending.count + 1)
                case .tornSectors: cut = -1
                }
                for (i, change) in inode.pending.enumerated() {
                    switch change {
                    case .resize(let size):
                        if cut >= 0 ? i < cut : random.coin() {
                            Self.resize(&image, to: size)
                            report.writesKept += 1
                        } else {
                            report.writesLost += 1
                        }
                    case .write(let offset, let bytes):
                        if cut >= 0 && i < cut {
                            Self.store(bytes, at: offset, into: &image)
                            report.writesKept += 1
                        } else if cut >= 0 && i > cut {
                            report.writesLost += 1
                        } else {
                            // Torn: each sector of the write independently (the write at a
                            // prefix's cut keeps a prefix of its sectors).
                            let sectors = (bytes.count + Self.sectorSize - 1) / Self.sectorSize
                            let prefix = cut >= 0 ? random.below(sectors + 1) : sectors
                            var kept = 0
                            for s in 0..<sectors {
                                let keep = cut >= 0 ? s < prefix : random.coin()
                                guard keep else { continue }
                                let lo = s * Self.sectorSize, hi = Swift.min(bytes.count, lo + Self.sectorSize)
                                Self.store(Array(bytes[lo..<hi]), at: offset + lo, into: &image)
                                kept += 1
                            }
                            if kept == sectors { report.writesKept += 1 } else if kept == 0 { report.writesLost += 1 } else { report.writesTorn += 1 }
                        }
                    }
                }
                inode.durable = image
                inode.data = image
                inode.pending = []
                inode.mappings = []
                inode.shared = nil
            }
            lockOwners.removeAll()
            faults.removeAll()
            powerLossAt = nil
            boot += 1
            condition.broadcast()
            lastReport = report
            return report
        }
    }

    /// The bytes the file at `path` holds now (the page cache), or nil.
    public func contents(of path: String) -> [UInt8]? {
        locked { names[path].flatMap { inodes[$0]?.data } }
    }

    /// Every path that names a file now.
    public func filePaths() -> [String] { locked { names.keys.sorted() } }

    /// Whether `needle` occurs in any byte of any file (page cache or durable image, linked or not).
    public func containsBytes(_ needle: [UInt8]) -> Bool {
        locked {
            inodes.values.contains { Self.find(needle, in: $0.data) || Self.find(needle, in: $0.durable) }
        }
    }

    // MARK: - Internals used by the simulated file system

    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Checks the boot and the armed faults for one operation; returns the fault that fires.
    func check(_ operation: Fault.Operation, path: String, boot: Int) throws(StorageError) -> Fault.Kind? {
        operationCount += 1
        clock += 0.001
        if boot != self.boot { throw StorageError(path: path, operation: operation.rawValue + " (after power loss)", code: EIO) }
        if let at = powerLossAt, operationCount >= at {
            _ = performPowerLoss(powerLossMode)
            throw StorageError(path: path, operation: operation.rawValue + " (power lost)", code: EIO)
        }
        for i in faults.indices {
            let fault = faults[i]
            guard fault.operation == .any || fault.operation == operation else { continue }
            if let text = fault.pathContains, !path.contains(text) { continue }
            if fault.skip > 0 { faults[i].skip -= 1; continue }
            if fault.times > 1 { faults[i].times -= 1 } else { faults.remove(at: i) }
            firedFaults.append(fault)
            return fault.kind
        }
        return nil
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private func applyDurably(_ change: EntryChange) {
        switch change {
        case .link(let path, let inode): durableNames[path] = inode
        case .unlink(let path): durableNames[path] = nil
        case .rename(let a, let b, let inode):
            durableNames[a] = nil
            durableNames[b] = inode
        case .makeDirectory(let path): durableDirectories.insert(path)
        }
    }

    private static func resize(_ image: inout [UInt8], to size: Int) {
        if image.count > size { image.removeLast(image.count - size) } else if image.count < size { image.append(contentsOf: repeatElement(0, count: size - image.count)) }
    }

    private static func store(_ bytes: [UInt8], at offset: Int, into image: inout [UInt8]) {
        if image.count < offset + bytes.count { resize(&image, to: offset + bytes.count) }
        image.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<i + needle.count].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    private var usedBytes: Int { Set(names.values).reduce(0) { $0 + (inodes[$1]?.data.count ?? 0) } }

    private func inode(_ path: String, operation: String) throws(StorageError) -> Inode {
        guard let number = names[path], let inode = inodes[number] else {
            throw StorageError(path: path, operation: operation, code: ENOENT)
        }
        return inode
    }

    // MARK: File system operations (called with the boot of the caller)

    func open(_ path: String, mode: OpenMode, boot: Int) throws(StorageError) -> Int {
        try locked { () throws(StorageError) -> Int in
            if let fault = try check(.open, path: path, boot: boot) { throw StorageError(path: path, operation: "open", code: fault == .noSpace ? ENOSPC : EIO) }
            if directories.contains(path) { throw StorageError(path: path, operation: "open", code: EISDIR) }
            if let number = names[path] {
                if mode == .truncate, let inode = inodes[number] {
                    inode.data = []
                    inode.pending.append(.resize(0))
                    inode.modified = clock
                    for m in inode.mappings { m.initializeMemory(as: UInt8.self, repeating: 0) }
                }
                return number
            }
            guard mode == .create || mode == .truncate else { throw StorageError(path: path, operation: "open", code: ENOENT) }
            guard directories.contains(Self.parent(path)) else { throw StorageError(path: path, operation: "open", code: ENOENT) }
            let number = nextInode
            nextInode += 1
            let inode = Inode()
            inode.modified = clock
            inodes[number] = inode
            names[path] = number
            pendingEntries.append(.link(path, number))
            return number
        }
    }

    func exists(_ path: String) -> Bool { locked { names[path] != nil || directories.contains(path) } }

    func rename(_ source: String, to destination: String, boot: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if let fault = try check(.rename, path: destination, boot: boot) { throw StorageError(path: destination, operation: "rename", code: fault == .noSpace ? ENOSPC : EIO) }
            guard let number = names[source] else { throw StorageError(path: source, operation: "rename", code: ENOENT) }
            guard directories.contains(Self.parent(destination)) else { throw StorageError(path: destination, operation: "rename", code: ENOENT) }
            names[source] = nil
            names[destination] = number
            pendingEntries.append(.rename(source, destination, number))
        }
    }

    func remove(_ path: String, boot: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if try check(.remove, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "unlink", code: EIO) }
            guard names[path] != nil else { throw StorageError(path: path, operation: "unlink", code: ENOENT) }
            names[path] = nil
            pendingEntries.append(.unlink(path))
        }
    }

    func syncDirectory(_ directory: String, boot: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if try check(.syncDirectory, path: directory, boot: boot) != nil { throw StorageError(path: directory, operation: "fsync", code: EIO) }
            guard directories.contains(directory) else { throw StorageError(path: directory, operation: "open", code: ENOENT) }
            var rest: [EntryChange] = []
            for change in pendingEntries {
                if change.directories.contains(directory) { applyDurably(change) } else { rest.append(change) }
            }
            pendingEntries = rest
        }
    }

    func makeDirectory(_ path: String, boot: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if let fault = try check(.open, path: path, boot: boot) { throw StorageError(path: path, operation: "mkdir", code: fault == .noSpace ? ENOSPC : EIO) }
            if directories.contains(path) { return }
            guard directories.contains(Self.parent(path)) else { throw StorageError(path: path, operation: "mkdir", code: ENOENT) }
            if names[path] != nil { throw StorageError(path: path, operation: "mkdir", code: EEXIST) }
            directories.insert(path)
            pendingEntries.append(.makeDirectory(path))
        }
    }

    func names(in directory: String, boot: Int) throws(StorageError) -> [String] {
        try locked { () throws(StorageError) -> [String] in
            if try check(.read, path: directory, boot: boot) != nil { throw StorageError(path: directory, operation: "opendir", code: EIO) }
            guard directories.contains(directory) else { throw StorageError(path: directory, operation: "opendir", code: ENOENT) }
            let prefix = directory == "/" ? "/" : directory + "/"
            func child(_ path: String) -> String? {
                guard path.hasPrefix(prefix) else { return nil }
                let rest = path.dropFirst(prefix.count)
                return rest.isEmpty || rest.contains("/") ? nil : String(rest)
            }
            return names.keys.compactMap(child) + directories.compactMap(child)
        }
    }

    func fileSize(_ path: String) -> Int? { locked { names[path].flatMap { inodes[$0]?.data.count } } }

    func modificationTime(_ path: String) -> Double? { locked { names[path].flatMap { inodes[$0]?.modified } } }

    // MARK: File operations

    func size(_ number: Int, path: String, boot: Int) throws(StorageError) -> Int {
        try locked { () throws(StorageError) -> Int in
            if try check(.read, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "fstat", code: EIO) }
            return inodes[number]!.data.count
        }
    }

    func read(_ number: Int, path: String, boot: Int, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(StorageError) -> Int {
        try locked { () throws(StorageError) -> Int in
            if try check(.read, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "pread", code: EIO) }
            let data = inodes[number]!.data
            guard offset < data.count else { return 0 }
            let count = Swift.min(buffer.count, data.count - offset)
            data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            return count
        }
    }

    func write(_ number: Int, path: String, boot: Int, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            let inode = inodes[number]!
            var count = bytes.count
            var failure: StorageError?
            if let fault = try check(.write, path: path, boot: boot) {
                switch fault {
                case .shortWrite:
                    count = (bytes.count / 2 / Self.sectorSize) * Self.sectorSize
                    failure = StorageError(path: path, operation: "pwrite", code: ENOSPC)
                case .noSpace: throw StorageError(path: path, operation: "pwrite", code: ENOSPC)
                case .ioError, .syncFailure: throw StorageError(path: path, operation: "pwrite", code: EIO)
                }
            }
            if let capacity = storedCapacity, offset + count > inode.data.count,
               usedBytes + (offset + count - inode.data.count) > capacity {
                throw StorageError(path: path, operation: "pwrite", code: ENOSPC)
            }
            if count > 0 {
                let slice = Array(UnsafeRawBufferPointer(rebasing: bytes[0..<count]))
                Self.store(slice, at: offset, into: &inode.data)
                inode.pending.append(.write(offset: offset, bytes: slice))
                inode.modified = clock
                for m in inode.mappings where offset < m.count {
                    let n = Swift.min(count, m.count - offset)
                    (m.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: n)
                }
            }
            if let failure { throw failure }
        }
    }

    func sync(_ number: Int, path: String, boot: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            let inode = inodes[number]!
            if let fault = try check(.sync, path: path, boot: boot) {
                if fault == .syncFailure || fault == .ioError {
                    // Linux marks the pages clean after a failed writeback: they stay readable
                    // here but never reach the disk.
                    inode.pending.removeAll()
                }
                throw StorageError(path: path, operation: "fdatasync", code: fault == .noSpace ? ENOSPC : EIO)
            }
            inode.durable = inode.data
            inode.pending.removeAll()
        }
    }

    func truncate(_ number: Int, path: String, boot: Int, to size: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if try check(.truncate, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "ftruncate", code: EIO) }
            let inode = inodes[number]!
            Self.resize(&inode.data, to: size)
            inode.pending.append(.resize(size))
            inode.modified = clock
            for m in inode.mappings where size < m.count {
                (m.baseAddress! + size).initializeMemory(as: UInt8.self, repeating: 0, count: m.count - size)
            }
        }
    }

    func allocate(_ number: Int, path: String, boot: Int, _ size: Int) throws(StorageError) {
        try locked { () throws(StorageError) in
            if let fault = try check(.allocate, path: path, boot: boot) {
                throw StorageError(path: path, operation: "posix_fallocate", code: fault == .ioError ? EIO : ENOSPC)
            }
            let inode = inodes[number]!
            guard size > inode.data.count else { return }
            if let capacity = storedCapacity, usedBytes + size - inode.data.count > capacity {
                throw StorageError(path: path, operation: "posix_fallocate", code: ENOSPC)
            }
            Self.resize(&inode.data, to: size)
            inode.pending.append(.resize(size))
        }
    }

    func map(_ number: Int, path: String, boot: Int, size: Int) throws(StorageError) -> UnsafeRawBufferPointer {
        try locked { () throws(StorageError) -> UnsafeRawBufferPointer in
            if try check(.map, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "mmap", code: EIO) }
            let inode = inodes[number]!
            let mapping = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(size, 1), alignment: 16)
            mapping.initializeMemory(as: UInt8.self, repeating: 0)
            let count = Swift.min(size, inode.data.count)
            inode.data.withUnsafeBytes { if count > 0 { mapping.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) } }
            let view = UnsafeMutableRawBufferPointer(start: mapping.baseAddress, count: size)
            inode.mappings.append(view)
            return UnsafeRawBufferPointer(view)
        }
    }

    func mapShared(_ number: Int, path: String, boot: Int, size: Int) throws(StorageError) -> SharedPage {
        try locked { () throws(StorageError) -> SharedPage in
            if try check(.map, path: path, boot: boot) != nil { throw StorageError(path: path, operation: "mmap", code: EIO) }
            let inode = inodes[number]!
            if let page = inode.shared, page.count >= size { return page }
            let page = SharedPage(count: size)
            inode.shared = page
            return page
        }
    }

    func unmap(_ number: Int, _ base: UnsafeRawPointer) {
        locked {
            if let inode = inodes[number] { inode.mappings.removeAll { UnsafeRawPointer($0.baseAddress) == base } }
        }
        UnsafeMutableRawPointer(mutating: base).deallocate()
    }

    // MARK: Locks

    func lock(_ path: String, owner: ObjectIdentifier, boot: Int, wait: Bool) throws(StorageError) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if boot != self.boot { throw StorageError(path: path, operation: "flock (after power loss)", code: EIO) }
            if lockOwners[path] == nil || lockOwners[path] == owner {
                lockOwners[path] = owner
                return true
            }
            if !wait { return false }
            condition.wait()
        }
    }

    func unlock(_ path: String, owner: ObjectIdentifier, boot: Int) {
        locked {
            guard boot == self.boot, lockOwners[path] == owner else { return }
            lockOwners[path] = nil
            condition.broadcast()
        }
    }
}

/// The file system of one boot of a ``SimulatedDisk``.
struct SimulatedFileSystem: FileSystem {
    let disk: SimulatedDisk
    let boot: Int

    func open(_ path: String, mode: OpenMode) throws(StorageError) -> any StorageFile {
        let number = try disk.open(path, mode: mode, boot: boot)
        return SimulatedFile(disk: disk, boot: boot, inode: number, path: path)
    }
    func exists(_ path: String) -> Bool { disk.exists(path) }
    func rename(_ source: String, to destination: String) throws(StorageError) { try disk.rename(source, to: destination, boot: boot) }
    func remove(_ path: String) throws(StorageError) { try disk.remove(path, boot: boot) }
    func syncDirectory(_ directory: String) throws(StorageError) { try disk.syncDirectory(directory, boot: boot) }
    func makeDirectory(_ path: String) throws(StorageError) { try disk.makeDirectory(path, boot: boot) }
    func forEachName(in directory: String, _ body: (String) -> Void) throws(StorageError) {
        for name in try disk.names(in: directory, boot: boot) { body(name) }
    }
    func fileSize(_ path: String) -> Int? { disk.fileSize(path) }
    func modificationTime(_ path: String) -> Double? { disk.modificationTime(path) }
    func lockFile(_ path: String) throws(StorageError) -> any FileLock {
        _ = try disk.open(path, mode: .create, boot: boot)
        return SimulatedLock(disk: disk, boot: boot, path: path)
    }
}

/// A file of one boot. Safe to share: its state sits behind a lock, the rest never changes.
final class SimulatedFile: StorageFile, @unchecked Sendable {
    let disk: SimulatedDisk
    let boot: Int
    let inode: Int
    let path: String
    private let lock = NSLock()
    private var closed = false
    private var shared: [UnsafeRawPointer: SimulatedDisk.SharedPage] = [:]

    init(disk: SimulatedDisk, boot: Int, inode: Int, path: String) {
        self.disk = disk
        self.boot = boot
        self.inode = inode
        self.path = path
    }

    private func checkOpen(_ operation: String) throws(StorageError) {
        if lock.withLock({ closed }) { throw StorageError(path: path, operation: operation, code: EBADF) }
    }

    func size() throws(StorageError) -> Int { try checkOpen("fstat"); return try disk.size(inode, path: path, boot: boot) }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(StorageError) -> Int {
        try checkOpen("pread")
        return try disk.read(inode, path: path, boot: boot, into: buffer, at: offset)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(StorageError) {
        try checkOpen("pwrite")
        try disk.write(inode, path: path, boot: boot, bytes, at: offset)
    }
    func sync() throws(StorageError) { try checkOpen("fdatasync"); try disk.sync(inode, path: path, boot: boot) }
    func truncate(to size: Int) throws(StorageError) { try checkOpen("ftruncate"); try disk.truncate(inode, path: path, boot: boot, to: size) }
    func allocate(_ size: Int) throws(StorageError) { try checkOpen("posix_fallocate"); try disk.allocate(inode, path: path, boot: boot, size) }
    func map(size: Int) throws(StorageError) -> UnsafeRawBufferPointer {
        try checkOpen("mmap")
        return try disk.map(inode, path: path, boot: boot, size: size)
    }
    func mapShared(size: Int) throws(StorageError) -> UnsafeMutableRawPointer {
        try checkOpen("mmap")
        let page = try disk.mapShared(inode, path: path, boot: boot, size: size)
        lock.withLock { shared[UnsafeRawPointer(page.base)] = page }
        return page.base
    }
    func unmap(_ base: UnsafeRawPointer, count: Int) {
        if lock.withLock({ shared.removeValue(forKey: base) }) != nil { return }
        disk.unmap(inode, base)
    }
    func close() { lock.withLock { closed = true } }
}

/// A lock of one boot: a power loss releases every lock.
final class SimulatedLock: FileLock {
    let disk: SimulatedDisk
    let boot: Int
    let path: String

    init(disk: SimulatedDisk, boot: Int, path: String) {
        self.disk = disk
        self.boot = boot
        self.path = path
    }

    func lock() throws(StorageError) { _ = try disk.lock(path, owner: ObjectIdentifier(self), boot: boot, wait: true) }
    func tryLock() throws(StorageError) -> Bool { try disk.lock(path, owner: ObjectIdentifier(self), boot: boot, wait: false) }
    func unlock() { disk.unlock(path, owner: ObjectIdentifier(self), boot: boot) }
    deinit { unlock() }
}

extension SplitMix64 {
    /// A number in `0..<n` (0 when `n` is at most 1; the tiny modulo bias does not matter here).
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func coin() -> Bool { next() & 1 == 1 }
}
