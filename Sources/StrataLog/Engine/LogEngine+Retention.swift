import Foundation
import Strata
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

extension LogEngine {
    /// Called by the writer when `segment` was sealed (a newer segment took over): compresses it
    /// in the background when configured, and marks retention to run once the batch is stored.
    func sealed(_ segment: SegmentEntry, now: Int64) {
        if configuration.compressSealedSegments, let path = segment.file?.path { compressInBackground(path) }
        retentionDue = configuration.retention != nil
        indexingDue = true
    }

    /// Compresses a sealed segment's file on a thread of its own. The segment stays mapped in
    /// this process; other processes pick up the .seg.gz when they next open the directory. A
    /// failure leaves the plain segment in place.
    func compressInBackground(_ path: String) {
        let gate = compressionGate
        let fileSystem = fileSystem
        let logger = logger
        gate.begin(path)
        Thread.detachNewThread {
            do {
                _ = try SegmentCompression.compress(segmentAt: path, fileSystem: fileSystem) { rename in try gate.publish(path, rename) }
                logger.debug("compressed a sealed segment", metadata: ["segment": .string(path)])
            } catch {
                logger.warning("could not compress a sealed segment; it stays uncompressed", metadata: ["segment": .string(path), "error": .string("\(error)")])
            }
            gate.end(path)
        }
    }

    /// Drops the oldest sealed segments that retention no longer keeps. Writer thread, under the
    /// directory lock, between batches. Before any file is removed, the state that only those
    /// segments recorded — stream metadata, deletes, tombstones, and the last revision of
    /// streams whose every event goes — is appended again, so that a rebuild of the index from
    /// the log alone still knows it.
    func applyRetention(now: Int64, buffer: inout [UInt8]) {
        guard let retention = configuration.retention, failure == nil else { return }
        var dropCount = 0
        var total = index.segments.reduce(Int64(0)) { $0 + Int64($1.end) }
        while dropCount < index.segments.count - 1 {
            let oldest = index.segments[dropCount]
            var drop = false
            if let maxAge = retention.maxAge, oldest.lastRecordedAt > 0,
               oldest.lastRecordedAt < now - Int64(maxAge * 1_000_000) {
                drop = true
            }
            if let maxBytes = retention.maxBytes, total > maxBytes { drop = true }
            guard drop else { break }
            total -= Int64(oldest.end)
            dropCount += 1
        }
        guard dropCount > 0 else { return }
        let newFirst = index.segments[dropCount].firstPosition
        do {
            try carryStreamStateForward(before: newFirst, now: now, buffer: &buffer)
        } catch let error as StrataError {
            // Keep every segment: nothing is lost, retention waits for the next seal. A failed
            // write or sync stops the store, as for an append (docs/ENGINE.md).
            if case .io = error, let last = index.lastSegment {
                withIndexLock { failure = error }
                discardUnsynced(last, through: last.end + buffer.count)
            }
            return
        } catch {
            return
        }
        let dropped = Array(index.segments[0..<dropCount])
        withIndexLock {
            index.segments.removeFirst(dropCount)
            index.firstPosition = newFirst
        }
        metrics.segments.record(index.segments.count)
        logger.info("retention dropped sealed segments", metadata: [
            "segments": .stringConvertible(dropped.count), "firstPosition": .stringConvertible(newFirst),
        ])
        for segment in dropped {
            let plain = segmentsDirectory + "/" + SegmentFile.fileName(firstPosition: segment.firstPosition, generation: segment.generation)
            compressionGate.drop(plain) {
                try? fileSystem.remove(plain)
                try? fileSystem.remove(plain + ".gz")
            }
            try? fileSystem.remove(indexFilePath(firstPosition: segment.firstPosition, generation: segment.generation))
        }
    }

    /// Appends control records restating every stream's non-default state, and the last
    /// revision of streams whose stored events all lie before `firstKept`.
    private func carryStreamStateForward(before firstKept: UInt64, now: Int64, buffer: inout [UInt8]) throws {
        var records: [PendingRecord] = []
        for stream in index.streams {
            records += restatement(of: stream, revisionFloor: stream.lastRevision > 0 && stream.lastPosition < firstKept)
        }
        try appendRestatement(records, now: now, buffer: &buffer)
    }

    /// The control records that restate a stream's state: its revision floor (when asked),
    /// metadata (unless `withMetadata` is false: an erasure), soft delete and tombstone.
    func restatement(of stream: StreamEntry, revisionFloor: Bool, withMetadata: Bool = true) -> [PendingRecord] {
        var records: [PendingRecord] = []
        if revisionFloor && stream.lastRevision > 0 {
            records.append(.control(kind: .streamRevision, stream: stream.name, revision: stream.lastRevision, payload: Data(), custom: nil))
        }
        if withMetadata && !stream.metadata.isEmpty {
            records.append(.control(kind: .streamMetadata, stream: stream.name, revision: stream.lastRevision,
                                    payload: StreamMetadataCoding.encode(stream.metadata), custom: stream.metadata.custom))
        }
        if stream.deletedThrough > 0 {
            records.append(.control(kind: .streamSoftDelete, stream: stream.name, revision: stream.deletedThrough, payload: Data(), custom: nil))
        }
        if stream.tombstoned {
            records.append(.control(kind: .streamTombstone, stream: stream.name, revision: stream.lastRevision, payload: Data(), custom: nil))
        }
        return records
    }

    /// Appends control records to the newest segment, syncs them (files are removed or replaced
    /// right after, and the restated state must be on disk first) and applies them to the index.
    /// Writer thread, under the directory lock.
    func appendRestatement(_ records: [PendingRecord], now: Int64, buffer: inout [UInt8]) throws {
        guard !records.isEmpty, let segment = index.lastSegment, let file = segment.file else { return }
        buffer.removeAll(keepingCapacity: true)
        for record in records { try encodeControl(record, at: now, into: &buffer) }
        let base = segment.end
        guard base + buffer.count <= (try segment.bytes).count else {
            throw StrataError.invalidArgument("no room in the newest segment to restate stream state; retry after the next segment starts")
        }
        if unsyncedFrom == nil { unsyncedFrom = base }
        try buffer.withUnsafeBytes { bytes in try StrataErrorBridge.run { try file.write(bytes, at: base) } }
        try StrataErrorBridge.run { try file.sync() }
        unsyncedFrom = nil
        try withIndexLock {
            for record in records {
                if case .control(let kind, let stream, let revision, let payload, let custom) = record {
                    try index.applyControl(kind: kind, stream: stream, revision: revision, payload: payload, custom: custom)
                }
            }
            segment.end = base + buffer.count
            segment.lastRecordCRC = nil
            publishHint()
        }
    }
}

/// Keeps background compression and retention apart: a segment retention drops while it is being
/// compressed must not reappear as a `.seg.gz` when the compression finishes.
final class CompressionGate: @unchecked Sendable {
    private let lock = NSCondition()
    private var active: Set<String> = []
    private var dropped: Set<String> = []

    /// A compression of the segment at `path` starts.
    func begin(_ path: String) { lock.withLock { _ = active.insert(path) } }

    /// The compression ended (published, abandoned or failed).
    func end(_ path: String) {
        lock.withLock {
            active.remove(path)
            dropped.remove(path)
            lock.broadcast()
        }
    }

    /// Waits until no compression runs (at close: a closed store must not change its directory).
    func waitUntilIdle() {
        lock.withLock {
            while !active.isEmpty { lock.wait() }
        }
    }

    /// Runs `rename` unless the segment was dropped; returns whether it ran. Holding the lock
    /// across the rename makes "dropped" and "published" exclusive.
    func publish(_ path: String, _ rename: () throws -> Void) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if dropped.contains(path) { return false }
        try rename()
        return true
    }

    /// Retention drops the segment at `path`: `remove` deletes its files, under the lock.
    func drop(_ path: String, remove: () -> Void) {
        lock.withLock {
            if active.contains(path) { dropped.insert(path) }
            remove()
        }
    }
}
