import Glibc
import StrataStorage
import Synchronization

/// The 64-byte header at the start of every segment file (docs/FORMAT.md, "Segment header").
struct SegmentHeader: Equatable, Sendable {
    static let size = 64
    /// "STRATASG".
    static let magic: [UInt8] = Array("STRATASG".utf8)

    /// The position the segment's first event has or will have.
    var firstPosition: UInt64
    /// When the segment was created, in microseconds since the Unix epoch (UTC).
    var createdAtMicros: Int64

    /// The 64 header bytes, checksum included.
    func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.withUnsafeMutableBytes { p in
            p.copyBytes(from: Self.magic)
            p.storeBytes(of: RecordFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(Self.size).littleEndian, toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: firstPosition.littleEndian, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: createdAtMicros.littleEndian, toByteOffset: 24, as: Int64.self)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: p[0..<60]))
            p.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
        }
        return bytes
    }

    /// Reads and checks a header: magic, then version (an unknown one may lay out the rest
    /// differently), then checksum, header size and reserved bytes. `path` is for errors.
    init(decoding bytes: UnsafeRawBufferPointer, path: String) throws(FileError) {
        guard bytes.count >= Self.size else {
            throw .corrupt(path: path, offset: 0, reason: "\(bytes.count) bytes, shorter than the \(Self.size)-byte segment header")
        }
        guard bytes[0..<8].elementsEqual(Self.magic) else {
            throw .corrupt(path: path, offset: 0, reason: "no STRATASG magic: not a Strata segment file")
        }
        let version = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard version == RecordFormat.version else {
            throw .unsupportedFormat(path: path, found: "segment format version \(version)", supported: Int(RecordFormat.version))
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
        guard stored == actual else {
            throw .corrupt(path: path, offset: 0, reason: "segment header checksum mismatch")
        }
        let headerSize = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard headerSize == UInt32(Self.size) else {
            throw .corrupt(path: path, offset: 12, reason: "header size \(headerSize), expected \(Self.size)")
        }
        guard bytes[32..<60].allSatisfy({ $0 == 0 }) else {
            throw .corrupt(path: path, offset: 32, reason: "reserved header bytes 32..<60 are not zero")
        }
        firstPosition = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        createdAtMicros = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: Int64.self))
    }

    init(firstPosition: UInt64, createdAtMicros: Int64) {
        self.firstPosition = firstPosition
        self.createdAtMicros = createdAtMicros
    }
}

/// What a segment file's name encodes (docs/FORMAT.md, "Segment file names").
struct SegmentName: Equatable, Sendable {
    /// The position of the segment's first event (or where its first event would be).
    let firstPosition: UInt64
    /// How many times a scavenge rewrote the segment (0: never); the highest generation wins.
    let generation: Int
    /// Whether the file is gzip-compressed.
    let compressed: Bool

    /// The file name.
    var fileName: String { SegmentFile.fileName(firstPosition: firstPosition, generation: generation, compressed: compressed) }
}

/// One segment file: a header and records, written with `pwrite` and read through a shared,
/// read-only memory mapping (docs/FORMAT.md, "Segment file").
///
/// Sendable because every stored property is: the file and header never change, and the
/// mapping state sits behind a `Mutex`. Two rules the type cannot check, both kept by the engine:
/// one writer issues `write`/`sync`/`discardTail`/`seal` at a time, and `close()` runs after every
/// other call on the file has returned (it invalidates every buffer handed out).
final class SegmentFile: Sendable {
    /// The folder of a data directory that holds the segments.
    static let directoryName = "segments"
    static let fileExtension = ".seg"
    static let compressedExtension = ".seg.gz"

    /// `{firstPosition as 20 zero-padded digits}.seg` (or `.seg.gz`); a segment a scavenge
    /// rewrote `generation` times is `{first}.{generation}.seg` (docs/FORMAT.md, "Scavenging").
    static func fileName(firstPosition: UInt64, generation: Int = 0, compressed: Bool = false) -> String {
        let digits = String(firstPosition)
        return String(repeating: "0", count: 20 - digits.count) + digits
            + (generation > 0 ? ".\(generation)" : "")
            + (compressed ? compressedExtension : fileExtension)
    }

    /// What a segment file's name says, or nil when the name is not a segment's.
    static func parseName(_ name: String) -> SegmentName? {
        let compressed: Bool
        var stem: Substring
        if name.hasSuffix(compressedExtension) {
            compressed = true
            stem = name.dropLast(compressedExtension.count)
        } else if name.hasSuffix(fileExtension) {
            compressed = false
            stem = name.dropLast(fileExtension.count)
        } else {
            return nil
        }
        var generation = 0
        if let dot = stem.firstIndex(of: ".") {
            let digits = stem[stem.index(after: dot)...]
            guard (1...9).contains(digits.utf8.count), digits.utf8.first != UInt8(ascii: "0"),
                  digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let g = Int(digits) else { return nil }
            generation = g
            stem = stem[..<dot]
        }
        guard stem.utf8.count == 20, stem.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let position = UInt64(stem) else { return nil }
        return SegmentName(firstPosition: position, generation: generation, compressed: compressed)
    }

    /// The first position a segment file name encodes, or nil when the name is not a segment's.
    static func firstPosition(fromFileName name: String) -> (firstPosition: UInt64, compressed: Bool)? {
        parseName(name).map { ($0.firstPosition, $0.compressed) }
    }

    let path: String
    let header: SegmentHeader
    let isWritable: Bool
    private let file: any StorageFile
    private let state: Mutex<State>

    private struct Mapping {
        let base: UnsafeRawPointer
        let count: Int
        var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    }

    private struct State {
        var fileSize: Int
        var isClosed = false
        var mapping: Mapping?
        /// Mappings replaced by `remapIfGrown`, kept until `close()` because readers may hold them.
        var retired: [Mapping] = []
    }

    var firstPosition: UInt64 { header.firstPosition }
    var createdAtMicros: Int64 { header.createdAtMicros }
    /// The file's size as this process knows it: its size at open, grown by writes and `remapIfGrown`.
    var fileSize: Int { state.withLock { $0.fileSize } }

    private init(path: String, file: any StorageFile, header: SegmentHeader, fileSize: Int, writable: Bool) {
        self.path = path
        self.file = file
        self.header = header
        self.isWritable = writable
        self.state = Mutex(State(fileSize: fileSize))
    }

    deinit {
        close()
    }

    // MARK: - Creating and opening

    /// Creates `directory/{firstPosition}.seg` with its header, preallocated to `bytes` so appends
    /// do not grow the file. The file appears under its name only once header and allocation
    /// are durable (written as `.tmp`, fsynced, renamed, directory fsynced).
    ///
    /// - Parameter directory: the segments folder itself (`<data>/segments`).
    /// - Throws: `FileError.io`, with `EEXIST` when the segment already exists.
    static func create(
        directory: String, firstPosition: UInt64, createdAtMicros: Int64, preallocate bytes: Int,
        fileSystem: any FileSystem = POSIXFileSystem()
    ) throws -> SegmentFile {
        let path = directory + "/" + fileName(firstPosition: firstPosition)
        let temporary = path + ".tmp"
        if fileSystem.exists(path) {
            throw FileError.io(path: path, operation: "create", errno: EEXIST)
        }
        let file = try FileError.run { try fileSystem.open(temporary, mode: .truncate) }
        do {
            let size = Swift.max(bytes, SegmentHeader.size)
            try FileError.run {
                try file.allocate(size)
                let header = SegmentHeader(firstPosition: firstPosition, createdAtMicros: createdAtMicros)
                try header.encoded().withUnsafeBytes { bytes in try file.write(bytes, at: 0) }
                try file.sync()
                try fileSystem.rename(temporary, to: path)
                try fileSystem.syncDirectory(directory)
            }
            let header = SegmentHeader(firstPosition: firstPosition, createdAtMicros: createdAtMicros)
            return SegmentFile(path: path, file: file, header: header, fileSize: size, writable: true)
        } catch {
            file.close()
            try? fileSystem.remove(temporary)
            throw error
        }
    }

    /// Opens an existing segment and checks its header, and that the header's first position
    /// matches the file name.
    static func open(path: String, writable: Bool, fileSystem: any FileSystem = POSIXFileSystem()) throws -> SegmentFile {
        let file = try FileError.run { try fileSystem.open(path, mode: writable ? .readWrite : .readOnly) }
        do {
            let size = try FileError.run { try file.size() }
            var bytes = [UInt8](repeating: 0, count: SegmentHeader.size)
            let read = try bytes.withUnsafeMutableBytes { buffer in try FileError.run { try file.read(into: buffer, at: 0) } }
            let header = try bytes.withUnsafeBytes {
                try SegmentHeader(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<read]), path: path)
            }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if let named = firstPosition(fromFileName: name), named.firstPosition != header.firstPosition {
                throw FileError.corrupt(
                    path: path, offset: 16,
                    reason: "header says first position \(header.firstPosition), the file name says \(named.firstPosition)"
                )
            }
            return SegmentFile(path: path, file: file, header: header, fileSize: size, writable: writable)
        } catch {
            file.close()
            throw error
        }
    }

    // MARK: - Writing

    /// Writes `bytes` at `offset` (≥ 64: the header is never rewritten).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        precondition(isWritable, "write to a segment opened read-only")
        precondition(offset >= SegmentHeader.size, "write at \(offset) would overwrite the segment header")
        try checkOpen()
        try FileError.run(path: path) { try file.write(bytes, at: offset) }
        state.withLock { $0.fileSize = Swift.max($0.fileSize, offset + bytes.count) }
    }

    /// Makes every write so far durable (`fdatasync`).
    func sync() throws {
        try checkOpen()
        try FileError.run(path: path) { try file.sync() }
    }

    /// Cuts a torn tail: zeroes every byte from `committedEnd` to the last nonzero byte of the
    /// file and syncs. Nothing before `committedEnd` is touched, and the file keeps its size and
    /// preallocation, so readers mapping it in other processes keep valid mappings.
    /// Returns how many bytes were zeroed.
    @discardableResult
    func discardTail(from committedEnd: Int) throws -> Int {
        precondition(isWritable, "discardTail on a segment opened read-only")
        precondition(committedEnd >= SegmentHeader.size, "committedEnd \(committedEnd) inside the segment header")
        _ = try remapIfGrown()
        let bytes = try mappedBytes()
        guard committedEnd < bytes.count else { return 0 }
        let end = RecordDecoder.nonzeroEnd(in: bytes, range: committedEnd..<bytes.count)
        guard end > committedEnd else { return 0 }
        let zeros = [UInt8](repeating: 0, count: Swift.min(end - committedEnd, 1 << 16))
        var offset = committedEnd
        try zeros.withUnsafeBytes { chunk in
            while offset < end {
                let count = Swift.min(chunk.count, end - offset)
                try write(UnsafeRawBufferPointer(rebasing: chunk[0..<count]), at: offset)
                offset += count
            }
        }
        try sync()
        return end - committedEnd
    }

    /// Seals the segment once it is full: the file becomes the records up to `logicalEnd` plus
    /// an 8-byte zero end marker (so a reader that mapped the preallocated file and reads the
    /// next frame at `logicalEnd` stays within the file), and is fsynced.
    func seal(at logicalEnd: Int) throws {
        precondition(isWritable, "seal on a segment opened read-only")
        precondition(logicalEnd >= SegmentHeader.size, "logicalEnd \(logicalEnd) inside the segment header")
        try checkOpen()
        let marker = [UInt8](repeating: 0, count: RecordFormat.frameSize)
        let size = logicalEnd + RecordFormat.frameSize
        try FileError.run(path: path) {
            try marker.withUnsafeBytes { bytes in try file.write(bytes, at: logicalEnd) }
            try file.truncate(to: size)
            try file.sync()
        }
        state.withLock { $0.fileSize = size }
    }

    // MARK: - Reading

    /// The whole file as this process last sized it, mapped shared and read-only. For a
    /// preallocated segment the mapping also shows later writes. Stays valid until `close()`.
    func mappedBytes() throws -> UnsafeRawBufferPointer {
        try state.withLock { state throws(FileError) -> UnsafeRawBufferPointer in
            if state.isClosed { throw FileError.io(path: path, operation: "mmap", errno: EBADF) }
            if let mapping = state.mapping { return mapping.buffer }
            let mapping = try map(size: state.fileSize)
            state.mapping = mapping
            return mapping.buffer
        }
    }

    /// Maps the file again when it is now larger than the current mapping (it grew past its
    /// preallocation, here or in another process). Earlier buffers stay valid until `close()`.
    /// Returns whether a new mapping was made.
    @discardableResult
    func remapIfGrown() throws -> Bool {
        try checkOpen()
        let size = try FileError.run { try file.size() }
        return try state.withLock { state throws(FileError) -> Bool in
            if state.isClosed { throw FileError.io(path: path, operation: "mmap", errno: EBADF) }
            if size > state.fileSize { state.fileSize = size }
            guard let current = state.mapping, current.count < state.fileSize else { return false }
            let mapping = try map(size: state.fileSize)
            state.retired.append(current)
            state.mapping = mapping
            return true
        }
    }

    /// Scans the records of this segment (see `RecordDecoder.scan`), from the first record
    /// unless told otherwise, up to `limit` or the end of the mapping.
    func scan(
        from start: Int = SegmentHeader.size,
        until limit: Int? = nil,
        verifyCRC: Bool = true,
        inspectTail: Bool = true,
        visit: (RecordView) throws -> Void
    ) throws -> ScanOutcome {
        _ = try remapIfGrown()
        let bytes = try mappedBytes()
        return try RecordDecoder.scan(bytes, from: start, until: limit, verifyCRC: verifyCRC, inspectTail: inspectTail, visit: visit)
    }

    /// Unmaps every mapping and closes the file. Buffers handed out become invalid.
    func close() {
        let mappings: [Mapping]? = state.withLock { state in
            if state.isClosed { return nil }
            state.isClosed = true
            defer { state.mapping = nil; state.retired = [] }
            return state.retired + (state.mapping.map { [$0] } ?? [])
        }
        guard let mappings else { return }
        for mapping in mappings { file.unmap(mapping.base, count: mapping.count) }
        file.close()
    }

    // MARK: - System calls

    private func checkOpen() throws {
        if state.withLock({ $0.isClosed }) { throw FileError.io(path: path, operation: "use", errno: EBADF) }
    }

    private func map(size: Int) throws(FileError) -> Mapping {
        do {
            let buffer = try file.map(size: size)
            return Mapping(base: buffer.baseAddress!, count: size)
        } catch {
            throw FileError(error)
        }
    }
}
