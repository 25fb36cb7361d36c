import Foundation
import Strata
import StrataStorage
import StrataJSON

/// Backups of a log store: a copy that keeps every position, id, revision, recorded time,
/// metadata, delete and tombstone, taken while writers keep running, incremental, and refused
/// by ``restore(backup:to:fileSystem:)`` and ``verify(backup:fileSystem:)`` unless complete
/// (docs/FORMAT.md, "Backup").
///
/// ```swift
/// let report = try await LogBackup.backup(directory: "/var/lib/strata", to: "/backups/strata")
/// try await LogBackup.restore(backup: "/backups/strata", to: "/var/lib/strata-restored")
/// ```
public enum LogBackup {
    /// The backup manifest's file name.
    public static let manifestName = "BACKUP"
    /// The backup format version this build writes and reads.
    public static let formatVersion = 1

    /// What a backup or restore did.
    public struct Report: Sendable {
        /// The position of the last event in the backup.
        public let headPosition: UInt64
        /// Files in the backup (the store's manifest and segments).
        public let files: Int
        /// Bytes copied by this run.
        public let bytesCopied: Int64
        /// Bytes of sealed segments an earlier run had copied and this one kept.
        public let bytesReused: Int64
    }

    /// One file of a backup, as `BACKUP` lists it.
    public struct Entry: Sendable, Hashable {
        /// The path relative to the backup directory.
        public let name: String
        /// Its size in bytes.
        public let bytes: Int64
        /// Its CRC32C.
        public let crc32c: UInt32
        /// Whether it was sealed in the source when copied.
        public let sealed: Bool
    }

    /// A complete backup's manifest.
    public struct Manifest: Sendable {
        /// When the backup finished, ISO 8601 UTC.
        public let createdAt: String
        /// The position of the last event.
        public let headPosition: UInt64
        /// Its files.
        public let files: [Entry]
    }

    // MARK: Backup

    /// Backs up the store in `directory` into `backupDirectory` (created when missing; an
    /// earlier backup there is updated incrementally).
    /// - Throws: `StrataError` for I/O failures or a source that is not a store.
    public static func backup(directory: String, to backupDirectory: String,
                              fileSystem: any FileSystem = POSIXFileSystem()) async throws -> Report {
        _ = try StrataErrorBridge.run { try StrataLog.Manifest.load(from: directory, fileSystem: fileSystem) }
        try storage { try fileSystem.makeDirectories(backupDirectory + "/" + SegmentFile.directoryName) }
        // 1. Not a backup from here until the manifest is written again.
        let previous = (try? readManifest(backupDirectory, fileSystem: fileSystem))?.files ?? []
        let manifestPath = backupDirectory + "/" + manifestName
        if fileSystem.exists(manifestPath) {
            try storage { try fileSystem.remove(manifestPath) }
            try storage { try fileSystem.syncDirectory(backupDirectory) }
        }
        let reusable = Dictionary(previous.filter(\.sealed).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var copied: Int64 = 0, reused: Int64 = 0
        var sealedNow: Set<String> = []

        // 3–4. Segments, oldest first, the newest last, until no newer one appears.
        var listing: [String] = []
        var rounds = 0
        while true {
            rounds += 1
            guard rounds <= 1000 else {
                throw StrataError.io(path: directory, operation: "back up", reason: "the store kept changing its segments; try again")
            }
            listing = try segmentNames(directory + "/" + SegmentFile.directoryName, fileSystem: fileSystem)
            var vanished = false
            for (index, name) in listing.enumerated() {
                let relative = SegmentFile.directoryName + "/" + name
                let isNewest = index == listing.count - 1
                if !isNewest && sealedNow.contains(relative) { continue }
                if !isNewest, let earlier = reusable[relative],
                   let size = fileSystem.fileSize(backupDirectory + "/" + relative), Int64(size) == earlier.bytes,
                   (try? checksum(backupDirectory + "/" + relative, fileSystem: fileSystem)) == earlier.crc32c {
                    reused += earlier.bytes
                    sealedNow.insert(relative)
                    continue
                }
                let source = directory + "/" + relative
                guard fileSystem.exists(source) else { vanished = true; break }
                do {
                    copied += try copyFile(from: source, to: backupDirectory + "/" + relative, fileSystem: fileSystem).bytes
                } catch let error as StrataError where !fileSystem.exists(source) {
                    _ = error
                    vanished = true
                    break
                }
                if !isNewest { sealedNow.insert(relative) }
            }
            if vanished { continue }
            let again = try segmentNames(directory + "/" + SegmentFile.directoryName, fileSystem: fileSystem)
            if again == listing { break }
        }

        // 2. The store's manifest, after the segments: a scavenge upgrades it before it
        // publishes a rewritten segment, so a copied rewritten segment implies a copied upgrade.
        copied += try copyFile(from: directory + "/" + StrataLog.Manifest.fileName,
                               to: backupDirectory + "/" + StrataLog.Manifest.fileName, fileSystem: fileSystem).bytes

        // 5. What the source no longer has. The backup's own index files stay: derived data that
        // its open (step 6) checks, keeps when they match a segment, and removes otherwise, so
        // an incremental run does not index every segment again.
        let wanted = Set(listing)
        for name in try storage({ try fileSystem.contentsOfDirectory(backupDirectory + "/" + SegmentFile.directoryName) })
        where !wanted.contains(name) && SegmentIndexFile.parseName(name) == nil {
            try storage { try fileSystem.remove(backupDirectory + "/" + SegmentFile.directoryName + "/" + name) }
        }
        try storage { try fileSystem.syncDirectory(backupDirectory + "/" + SegmentFile.directoryName) }
        try storage { try fileSystem.syncDirectory(backupDirectory) }

        // 6. Open the copy (recovery cuts a batch that was being written), then list it.
        let head = try await headPosition(of: backupDirectory, fileSystem: fileSystem)
        var entries: [Entry] = []
        for relative in [StrataLog.Manifest.fileName] + listing.map({ SegmentFile.directoryName + "/" + $0 }) {
            let path = backupDirectory + "/" + relative
            let bytes = Int64(fileSystem.fileSize(path) ?? 0)
            entries.append(Entry(name: relative, bytes: bytes, crc32c: try checksum(path, fileSystem: fileSystem),
                                 sealed: relative == StrataLog.Manifest.fileName || sealedNow.contains(relative)))
        }
        let manifest = Manifest(createdAt: timestamp(), headPosition: head, files: entries)
        try storage { try fileSystem.writeFileAtomically(manifestPath, encode(manifest)) }
        return Report(headPosition: head, files: entries.count, bytesCopied: copied, bytesReused: reused)
    }

    // MARK: Verify and restore

    /// Checks that `backup` is complete: `BACKUP` is present and of this version, every file it
    /// lists has its size and CRC32C, and the copied store verifies.
    /// - Throws: `StrataError.invalidArgument(_:)` for a folder that is not a complete
    ///   backup, `StrataError.corruption(path:offset:reason:)` naming a damaged file.
    @discardableResult
    public static func verify(backup: String, fileSystem: any FileSystem = POSIXFileSystem()) throws -> Manifest {
        let manifest = try readManifest(backup, fileSystem: fileSystem)
        for entry in manifest.files {
            let path = backup + "/" + entry.name
            guard let size = fileSystem.fileSize(path) else {
                throw StrataError.corruption(path: path, offset: 0, reason: "missing: BACKUP lists it (\(entry.bytes) bytes)")
            }
            guard Int64(size) == entry.bytes else {
                throw StrataError.corruption(path: path, offset: Int64(min(size, Int(entry.bytes))),
                                             reason: "\(size) bytes where BACKUP lists \(entry.bytes)")
            }
            let crc = try checksum(path, fileSystem: fileSystem)
            guard crc == entry.crc32c else {
                throw StrataError.corruption(path: path, offset: 0,
                                             reason: "CRC32C \(hex(crc)) where BACKUP lists \(hex(entry.crc32c)): the file changed since the backup")
            }
        }
        let report = try LogVerifier.verify(directory: backup, fileSystem: fileSystem, progress: nil)
        if let problem = report.problems.first {
            throw StrataError.corruption(path: problem.path, offset: Int64(problem.offset), reason: problem.reason)
        }
        return manifest
    }

    /// Restores `backup` into `directory`, which must not exist or be empty.
    /// - Throws: what ``verify(backup:fileSystem:)`` throws (nothing is written then), or
    ///   `StrataError.invalidArgument(_:)` for a target that holds files.
    public static func restore(backup: String, to directory: String, fileSystem: any FileSystem = POSIXFileSystem()) async throws -> Report {
        let manifest = try verify(backup: backup, fileSystem: fileSystem)
        if fileSystem.exists(directory), !(try storage { try fileSystem.contentsOfDirectory(directory) }).isEmpty {
            throw StrataError.invalidArgument("\(directory) is not empty: restore into a new or empty directory")
        }
        try storage { try fileSystem.makeDirectories(directory + "/" + SegmentFile.directoryName) }
        var copied: Int64 = 0
        for entry in manifest.files {
            let result = try copyFile(from: backup + "/" + entry.name, to: directory + "/" + entry.name, fileSystem: fileSystem)
            guard result.crc == entry.crc32c else {
                throw StrataError.corruption(path: backup + "/" + entry.name, offset: 0, reason: "changed while it was restored")
            }
            copied += result.bytes
        }
        try storage { try fileSystem.syncDirectory(directory + "/" + SegmentFile.directoryName) }
        try storage { try fileSystem.syncDirectory(directory) }
        let head = try await headPosition(of: directory, fileSystem: fileSystem)
        guard head == manifest.headPosition else {
            throw StrataError.corruption(path: directory, offset: 0, reason: "the restored store ends at \(head), BACKUP says \(manifest.headPosition)")
        }
        return Report(headPosition: head, files: manifest.files.count, bytesCopied: copied, bytesReused: 0)
    }

    /// Whether `directory` holds a backup manifest (complete or not yet checked).
    public static func isBackup(_ directory: String, fileSystem: any FileSystem = POSIXFileSystem()) -> Bool {
        fileSystem.exists(directory + "/" + manifestName)
    }

    // MARK: Helpers

    /// Runs `body`, turning storage errors into `StrataError`.
    static func storage<T>(_ body: () throws -> T) throws -> T {
        try StrataErrorBridge.run(body)
    }

    /// Segment file names in position order: of several files for one position, the highest
    /// generation (a scavenge's rewrite), and of a `.seg` and `.seg.gz` pair, the `.seg.gz`.
    static func segmentNames(_ directory: String, fileSystem: any FileSystem) throws -> [String] {
        var byPosition: [UInt64: SegmentName] = [:]
        for name in try storage({ try fileSystem.contentsOfDirectory(directory) }) {
            guard let parsed = SegmentFile.parseName(name) else { continue }
            if let known = byPosition[parsed.firstPosition],
               known.generation > parsed.generation || (known.generation == parsed.generation && known.compressed) { continue }
            byPosition[parsed.firstPosition] = parsed
        }
        return byPosition.keys.sorted().compactMap { byPosition[$0]?.fileName }
    }

    /// Copies a file through `{destination}.tmp`, fsync and rename; returns its size and CRC32C.
    static func copyFile(from source: String, to destination: String, fileSystem: any FileSystem) throws -> (bytes: Int64, crc: UInt32) {
        let input = try storage { try fileSystem.open(source, mode: .readOnly) }
        defer { input.close() }
        let temporary = destination + ".tmp"
        let output = try storage { try fileSystem.open(temporary, mode: .truncate) }
        var offset = 0
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do {
            while true {
                let count = try buffer.withUnsafeMutableBytes { raw in try input.read(into: raw, at: offset) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                    try output.write(chunk, at: offset)
                    crc = CRC32C.checksum(chunk, continuing: crc)
                }
                offset += count
            }
            try output.sync()
            output.close()
        } catch {
            output.close()
            try? fileSystem.remove(temporary)
            throw StrataErrorBridge.convert(error)
        }
        try storage { try fileSystem.rename(temporary, to: destination) }
        return (Int64(offset), crc)
    }

    /// A file's CRC32C.
    static func checksum(_ path: String, fileSystem: any FileSystem) throws -> UInt32 {
        let file = try storage { try fileSystem.open(path, mode: .readOnly) }
        defer { file.close() }
        var offset = 0
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try storage { try buffer.withUnsafeMutableBytes { raw in try file.read(into: raw, at: offset) } }
            if count == 0 { return crc }
            buffer.withUnsafeBytes { crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<count]), continuing: crc) }
            offset += count
        }
    }

    /// Opens the store in `directory` once (recovering it) and returns its head.
    static func headPosition(of directory: String, fileSystem: any FileSystem) async throws -> UInt64 {
        let store = try LogEventStore(directory: directory, fileSystem: fileSystem)
        do {
            let head = try await store.headPosition()
            try await store.close()
            return head
        } catch {
            try? await store.close()
            throw error
        }
    }

    static func hex(_ value: UInt32) -> String { RecordDecoder.hex8(value) }

    /// Now, ISO 8601 in UTC with whole seconds.
    static func timestamp() -> String {
        let micros = currentMicroseconds()
        return UTCTime.iso8601(micros - micros % 1_000_000, fractionDigits: 0)
    }

    static func encode(_ manifest: Manifest) -> [UInt8] {
        var out = #"{"format":"strata-backup","version":\#(formatVersion),"createdAt":"\#(manifest.createdAt)","headPosition":\#(manifest.headPosition),"files":["#
        for (index, entry) in manifest.files.enumerated() {
            if index > 0 { out += "," }
            var name = ""
            name += JSONWriter.quoted(entry.name)
            out += #"{"name":\#(name),"bytes":\#(entry.bytes),"crc32c":"\#(hex(entry.crc32c))","sealed":\#(entry.sealed)}"#
        }
        out += "]}\n"
        return Array(out.utf8)
    }

    /// Reads and checks `BACKUP`.
    static func readManifest(_ directory: String, fileSystem: any FileSystem) throws -> Manifest {
        let path = directory + "/" + manifestName
        guard fileSystem.exists(path) else {
            throw StrataError.invalidArgument("\(directory) is not a complete backup: it has no \(manifestName) file (an interrupted backup, or not a backup folder); run the backup again")
        }
        let bytes = try storage { try fileSystem.readFile(path) }
        guard let object = try? JSONValue(parsing: bytes), object["format"]?.stringValue == "strata-backup" else {
            throw StrataError.corruption(path: path, offset: 0, reason: "not a Strata backup manifest")
        }
        guard let version = object["version"]?.integerValue, version == formatVersion else {
            throw StrataError.unsupportedFormat(path: path, found: "version \(object["version"]?.jsonText ?? "?")", supported: "version \(formatVersion)")
        }
        guard let createdAt = object["createdAt"]?.stringValue, let head = object["headPosition"]?.integerValue.flatMap(UInt64.init(exactly:)),
              let files = object["files"]?.arrayValue else {
            throw StrataError.corruption(path: path, offset: 0, reason: "a field is missing or of the wrong type")
        }
        var entries: [Entry] = []
        for file in files {
            guard let name = file["name"]?.stringValue, !name.hasPrefix("/"), !name.split(separator: "/").contains(".."),
                  let bytes = file["bytes"]?.integerValue,
                  let crcText = file["crc32c"]?.stringValue, let crc = UInt32(crcText, radix: 16),
                  let sealed = file["sealed"]?.boolValue else {
                throw StrataError.corruption(path: path, offset: 0, reason: "a file entry is malformed")
            }
            entries.append(Entry(name: name, bytes: bytes, crc32c: crc, sealed: sealed))
        }
        return Manifest(createdAt: createdAt, headPosition: head, files: entries)
    }
}
