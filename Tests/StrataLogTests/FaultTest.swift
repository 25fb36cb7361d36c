import Foundation
import Strata
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataLog
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers of the crash, corruption, multi-process and retention suites: a seeded
/// generator, the writer's events, contiguity checks and a reader of segment files that follows
/// docs/FORMAT.md independently of the engine's decoder. (Child processes, temporary directories
/// and bounded waits come from StrataTestSupport.)
enum FaultTest {
    /// Adds 1 to the lock generation word of the `HEAD` file (offset 32), as a writer does right
    /// after taking the directory lock.
    static func bumpLockGeneration(_ dir: String) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: dir + "/HEAD"))
        defer { try? handle.close() }
        try handle.seek(toOffset: 32)
        let word = try #require(try handle.read(upToCount: 8))
        let value = word.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } &+ 1
        try handle.seek(toOffset: 32)
        try handle.write(contentsOf: withUnsafeBytes(of: value.littleEndian) { Data($0) })
    }

    // MARK: - Seeds

    /// SplitMix64 (from Strata): small, seeded, replayable.
    typealias Generator = SplitMix64

    // MARK: - Events

    /// Events of the writer's shape.
    static func events(_ count: Int, from first: Int = 0, writer: String = "test") -> [EventData] {
        (0..<count).map { EventData(type: "test-event", json: #"{"writer":"\#(writer)","seq":\#(first + $0)}"#) }
    }

    /// Every event of the store's `$all`, forward.
    static func readAll(_ store: LogEventStore) async throws -> [RecordedEvent] {
        try await store.readAll().collect()
    }

    /// Positions `a...b`, or empty when `b < a`.
    static func range(_ a: UInt64, _ b: UInt64) -> [UInt64] { b < a ? [] : Array(a...b) }

    /// Checks that `events` are the positions `first…` without a gap and every stream's
    /// revisions are 1… without a gap (when `first` is 1) or contiguous (when not).
    static func expectContiguous(_ events: [RecordedEvent], first: UInt64 = 1, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(events.map(\.position) == range(first, first + UInt64(events.count) - 1),
                "positions are not \(first)…\(first + UInt64(events.count) - 1) without a gap", sourceLocation: sourceLocation)
        var last: [String: UInt64] = [:]
        for event in events {
            if let previous = last[event.stream] {
                #expect(event.revision == previous + 1, "stream \(event.stream) jumps from \(previous) to \(event.revision) at \(event.position)",
                        sourceLocation: sourceLocation)
            } else if first == 1 {
                #expect(event.revision == 1, "stream \(event.stream) starts at revision \(event.revision)", sourceLocation: sourceLocation)
            }
            last[event.stream] = event.revision
        }
    }

    // MARK: - Files

    /// Every regular file under `directory` (relative path → bytes).
    static func snapshot(_ directory: String) -> [String: Data] {
        var files: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return files }
        while let relative = walker.nextObject() as? String {
            let path = directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = FileManager.default.contents(atPath: path) ?? Data()
            }
        }
        return files
    }

    /// The segment files of a data directory (not their index files, nor those being written), sorted.
    static func segmentNames(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/segments")) ?? [])
            .filter { !$0.contains(SegmentIndexFile.fileExtension) }.sorted()
    }

    /// Writes `bytes` at `offset` of the file at `path` (pwrite; the file is not truncated).
    static func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw StrataError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else { throw StrataError.io(path: path, operation: "pwrite", reason: String(cString: strerror(errno))) }
        guard fsync(fd) == 0 else { throw StrataError.io(path: path, operation: "fsync", reason: String(cString: strerror(errno))) }
    }

    // MARK: - Segments, read by the letter of docs/FORMAT.md

    /// One record as the format page describes it.
    struct Record {
        let offset: Int
        let bodyLength: Int
        let kind: UInt8
        let flags: UInt8
        let position: UInt64
        let revision: UInt64
        let id: UUID
        let stream: String
        var end: Int { offset + 8 + bodyLength }
        var isCommit: Bool { flags & 1 != 0 }
    }

    struct Segment {
        let path: String
        let bytes: [UInt8]
        let firstPosition: UInt64
        let records: [Record]
        /// Offset just after the last record (where the end marker is).
        var recordsEnd: Int { records.last?.end ?? 64 }
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * $1) }
    }

    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * $1) }
    }

    /// Reads a plain `.seg` file: the header's first position and the records from offset 64,
    /// each `8 + bodyLength` bytes, until a zero body length or the end of the file. Does not
    /// check CRCs (the tests damage files on purpose).
    static func readSegment(_ path: String) throws -> Segment {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        try #require(bytes.count >= 64 && Array(bytes[0..<8]) == Array("STRATASG".utf8), "\(path) is not a segment")
        var records: [Record] = []
        var at = 64
        while at + 8 <= bytes.count {
            let length = Int(u32(bytes, at))
            if length == 0 || at + 8 + length > bytes.count || length < 56 { break }
            let streamLength = Int(bytes[at + 10]) | Int(bytes[at + 11]) << 8
            let id = UUID(uuid: (bytes[at + 40], bytes[at + 41], bytes[at + 42], bytes[at + 43], bytes[at + 44], bytes[at + 45],
                                 bytes[at + 46], bytes[at + 47], bytes[at + 48], bytes[at + 49], bytes[at + 50], bytes[at + 51],
                                 bytes[at + 52], bytes[at + 53], bytes[at + 54], bytes[at + 55]))
            records.append(Record(offset: at, bodyLength: length, kind: bytes[at + 8], flags: bytes[at + 9],
                                  position: u64(bytes, at + 16), revision: u64(bytes, at + 24), id: id,
                                  stream: String(decoding: bytes[(at + 64)..<(at + 64 + streamLength)], as: UTF8.self)))
            at += 8 + length
        }
        return Segment(path: path, bytes: bytes, firstPosition: u64(bytes, 16), records: records)
    }

    /// The plain segment files of a data directory, oldest first.
    static func plainSegmentPaths(_ directory: String) -> [String] {
        segmentNames(directory).filter { $0.hasSuffix(".seg") }.map { directory + "/segments/" + $0 }
    }

    /// Encodes a committed or uncommitted event record (through the engine's encoder, whose
    /// output RecordFormatTests check byte by byte).
    static func encodeRecord(position: UInt64, revision: UInt64, stream: String, commit: Bool, id: UUID = UUID(),
                             data: String = #"{"torn":true}"#) throws -> [UInt8] {
        var buffer: [UInt8] = []
        try RecordFields.with(kind: .event, commit: commit, position: position, revision: revision,
                              recordedAtMicros: currentMicroseconds(), id: id, stream: stream, type: "test-event",
                              contentType: "", metadata: [], data: Array(data.utf8)) { fields in
            try RecordEncoder.append(fields, to: &buffer)
        }
        return buffer
    }
}

// MARK: - Acknowledged appends

extension AckLine {
    /// Checks that every event of this append is in `byPosition` with its stream and revision,
    /// and the last one with its id.
    func expectPresent(in byPosition: [UInt64: RecordedEvent], sourceLocation: SourceLocation = #_sourceLocation) {
        for position in firstPosition...lastPosition {
            let revision = lastRevision - (lastPosition - position)
            guard let event = byPosition[position] else {
                Issue.record("acknowledged position \(position) (\(stream)@\(revision)) is missing", sourceLocation: sourceLocation)
                continue
            }
            #expect(event.stream == stream && event.revision == revision,
                    "position \(position) is \(event.stream)@\(event.revision), acknowledged as \(stream)@\(revision)",
                    sourceLocation: sourceLocation)
            if position == lastPosition {
                #expect(event.id == lastID, "position \(position) has id \(event.id), acknowledged \(lastID)", sourceLocation: sourceLocation)
            }
        }
    }
}
