import Foundation
import Strata
import StrataStorage

/// Progress of ``LogEventStore/verify(directory:fileSystem:progress:)``.
public struct VerifyProgress: Sendable {
    /// Segment bytes checked so far.
    public let bytesChecked: Int64
    /// Segment bytes to check in all.
    public let totalBytes: Int64
}

/// One problem found by verification: where, and what.
public struct VerifyProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// The byte offset in the file (for a compressed segment: in its decompressed contents).
    public let offset: Int64
    /// What is wrong.
    public let reason: String

    public var description: String { "\(path):\(offset): \(reason)" }
}

/// What verification found.
public struct VerifyReport: Sendable {
    /// Segments checked.
    public let segments: Int
    /// Events checked.
    public let events: UInt64
    /// Segment bytes checked.
    public let bytes: Int64
    /// Every problem found, in log order. Empty when the store is intact.
    public let problems: [VerifyProblem]
    /// Whether no problem was found.
    public var isOK: Bool { problems.isEmpty }
}

/// Checks every segment of a data directory: headers, every record's length and CRC, position
/// order across segments, revision order in every stream, and that nothing but a torn tail
/// (which the next open cuts) follows the last commit record.
enum LogVerifier {
    static func verify(directory: String, fileSystem: any FileSystem, progress: (@Sendable (VerifyProgress) -> Void)?) throws -> VerifyReport {
        let manifest = try StrataErrorBridge.run { try Manifest.load(from: directory, fileSystem: fileSystem) }
        // A scavenged store (version 2) may skip positions and revisions (docs/FORMAT.md, "Scavenging").
        let allowsGaps = manifest.version >= Manifest.scavengedVersion
        let segmentsDirectory = directory + "/" + SegmentFile.directoryName
        // Of several files for one position: the highest generation, then the plain file.
        let names = ((try? fileSystem.contentsOfDirectory(segmentsDirectory)) ?? [])
            .compactMap { name -> (UInt64, String, Bool, Int)? in
                guard let parsed = SegmentFile.parseName(name) else { return nil }
                return (parsed.firstPosition, segmentsDirectory + "/" + name, parsed.compressed, parsed.generation)
            }
            .sorted { $0.0 < $1.0 || ($0.0 == $1.0 && ($0.3 > $1.3 || ($0.3 == $1.3 && !$0.2))) }
            .map { ($0.0, $0.1, $0.2) }
        var files: [(UInt64, String, Bool)] = []
        for n in names where files.last?.0 != n.0 { files.append(n) }
        let total = files.reduce(Int64(0)) { acc, f in acc + Int64(fileSystem.fileSize(f.1) ?? 0) }
        var problems: [VerifyProblem] = []
        var checked: Int64 = 0
        var events: UInt64 = 0
        var expectedPosition: UInt64? = nil
        var revisions: [String: UInt64] = [:]
        for (i, (first, path, compressed)) in files.enumerated() {
            let isLast = i == files.count - 1
            var owned: [UInt8] = []
            var file: SegmentFile?
            defer { file?.close() }
            do {
                func check(_ buffer: UnsafeRawBufferPointer) {
                    // A segment without records (left by a writer killed right after creating
                    // it) holds nothing: it takes no part in position order.
                    let empty = buffer.count >= SegmentHeader.size + 8
                        && buffer.loadUnaligned(fromByteOffset: SegmentHeader.size, as: UInt64.self) == 0
                    // What the outcome says is damage, except, in the newest segment, a torn last
                    // write that the next open cuts (docs/FORMAT.md, "Recovery").
                    func report(_ outcome: ScanOutcome) {
                        guard let corruption = outcome.corruption(path: path, sealed: !isLast),
                              case .corrupt(_, let offset, let reason) = corruption else { return }
                        let head = (expectedPosition ?? 1) &- 1
                        let cutOnOpen = isLast && (LogEngine.findCommittedRecord(in: buffer, after: outcome.stopOffset, beyond: head) == nil
                            || RecordDecoder.isTornLastWrite(buffer, damagedFrom: outcome.stopOffset))
                        if !cutOnOpen { problems.append(VerifyProblem(path: path, offset: Int64(offset), reason: reason)) }
                    }
                    if empty {
                        report(RecordDecoder.scan(buffer, from: SegmentHeader.size, inspectTail: true) { _ in })
                        return
                    }
                    if let expected = expectedPosition, allowsGaps ? first < expected : first != expected {
                        problems.append(VerifyProblem(path: path, offset: 16, reason: "segment starts at position \(first), expected \(expected) (a segment is missing)"))
                    }
                    if expectedPosition == nil { expectedPosition = first }
                    let outcome = RecordDecoder.scan(buffer, from: SegmentHeader.size, inspectTail: true) { view in
                        guard view.kind == .event else { return }
                        events += 1
                        if allowsGaps ? view.position < (expectedPosition ?? 0) : view.position != expectedPosition {
                            problems.append(VerifyProblem(path: path, offset: Int64(view.offset), reason: "event has position \(view.position), expected \(expectedPosition ?? 0)"))
                        }
                        // Wrapping: a damaged record may claim UInt64.max (found by Fuzz/FuzzSegment).
                        expectedPosition = view.position &+ 1
                        let name = view.streamName
                        if let last = revisions[name], allowsGaps ? view.revision <= last : view.revision != last &+ 1 {
                            problems.append(VerifyProblem(path: path, offset: Int64(view.offset), reason: "stream \(name) jumps from revision \(last) to \(view.revision)"))
                        }
                        revisions[name] = view.revision
                    }
                    report(outcome)
                }
                if compressed {
                    owned = try SegmentCompression.decompress(path: path, fileSystem: fileSystem)
                    _ = try owned.withUnsafeBytes {
                        try SegmentHeader(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<Swift.min($0.count, SegmentHeader.size)]), path: path)
                    }
                    owned.withUnsafeBytes { check($0) }
                } else if !fileSystem.exists(path), fileSystem.exists(path + ".gz") {
                    // Compressed by a live store since the listing: the .gz holds the same bytes.
                    owned = try SegmentCompression.decompress(path: path + ".gz", fileSystem: fileSystem)
                    owned.withUnsafeBytes { check($0) }
                } else {
                    file = try SegmentFile.open(path: path, writable: false, fileSystem: fileSystem)
                    check(try file!.mappedBytes())
                }
            } catch {
                let converted = StrataErrorBridge.convert(error)
                if case StrataError.corruption(_, let offset, let reason) = converted {
                    problems.append(VerifyProblem(path: path, offset: offset, reason: reason))
                } else {
                    problems.append(VerifyProblem(path: path, offset: 0, reason: "\(converted)"))
                }
            }
            checked += Int64(fileSystem.fileSize(path) ?? 0)
            progress?(VerifyProgress(bytesChecked: checked, totalBytes: total))
        }
        return VerifyReport(segments: files.count, events: events, bytes: total, problems: problems)
    }
}
