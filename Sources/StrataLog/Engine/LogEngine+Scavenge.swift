import Foundation
import Strata
import StrataStorage
import Synchronization

/// What a scavenge decides about one stream: the rule that hides its events, when any.
struct ScavengeRule {
    let visibility: StreamVisibility
    let tombstoned: Bool
    /// Every record of the stream goes, its metadata records included (an erasure).
    let erased: Bool

    func removes(revision: UInt64, recordedAtMicros: Int64) -> Bool {
        erased || tombstoned || revision < visibility.firstRevision || !visibility.admits(recordedAtMicros: recordedAtMicros)
    }
}

/// One sealed segment a scavenge rewrites: its new generation, written and synced, or nothing
/// when no record of it is kept.
struct SegmentRewrite: @unchecked Sendable {
    // Safe to share: handed once from the planning thread to the writer thread.
    let entry: SegmentEntry
    /// The new generation's file under its temporary name; nil when the segment keeps nothing.
    let temporaryPath: String?
    /// The new generation's file name once published.
    let finalPath: String
    let removedEvents: Int
}

/// What the writer publishes at the end of a scavenge (docs/FORMAT.md, "Scavenging").
struct ScavengePublication: Sendable {
    var rewrites: [SegmentRewrite]
    /// Streams that lost records: their state is restated before the rewrites are published.
    var affected: Set<String>
    /// Erased streams: restated without metadata, and their metadata forgotten.
    var erased: Set<String>
}

extension LogEngine {
    /// The suffix of a rewritten segment's file while a scavenge writes it.
    static let scavengeTemporarySuffix = ".scavenge.tmp"

    /// Scavenges the store, or erases `erasing` (docs/FORMAT.md, "Scavenging"). Runs on the
    /// caller's task, reading and writing files on a thread of its own; the writer thread seals
    /// the newest segment when needed and publishes the result.
    func scavenge(erasing: Set<String> = []) async throws -> ScavengeReport {
        try checkUsable()
        guard scavengeRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw StrataError.invalidArgument("another scavenge or erasure is running on this store; retry when it ends")
        }
        defer { scavengeRunning.store(false, ordering: .releasing) }
        let started = ContinuousClock.now
        let bytesBefore = segmentBytesOnDisk()
        let now = currentMicroseconds()
        let rules = withIndexLock { scavengeRules(erasing: erasing, now: now) }
        guard !rules.isEmpty else {
            return ScavengeReport(eventsRemoved: 0, bytesBefore: bytesBefore, bytesAfter: bytesBefore, segmentsRewritten: 0, started: started)
        }
        if try await BlockingWork.run({ try self.newestSegmentHasRemovable(rules) }) {
            _ = try await queue.submit(.seal, bytes: 0, events: 0)
        }
        let publication = try await BlockingWork.run { try self.planScavenge(rules, erasing: erasing) }
        var published = 0
        if !publication.rewrites.isEmpty || !publication.erased.isEmpty {
            do {
                _ = try await queue.submit(.publishScavenge(publication), bytes: 0, events: 0)
            } catch {
                for rewrite in publication.rewrites { if let path = rewrite.temporaryPath { try? fileSystem.remove(path) } }
                throw error
            }
            published = publication.rewrites.count
        }
        let removed = publication.rewrites.reduce(0) { $0 + $1.removedEvents }
        let bytesAfter = segmentBytesOnDisk()
        let report = ScavengeReport(eventsRemoved: removed, bytesBefore: bytesBefore, bytesAfter: bytesAfter,
                                    segmentsRewritten: published, started: started)
        metrics.scavengedEvents.increment(by: removed)
        metrics.scavengedBytes.increment(by: Int(report.bytesReclaimed))
        logger.info(erasing.isEmpty ? "scavenged" : "erased", metadata: [
            "events": .stringConvertible(removed), "segments": .stringConvertible(published),
            "bytesReclaimed": .stringConvertible(report.bytesReclaimed),
        ])
        return report
    }

    /// The bytes of every segment file (what a scavenge reclaims is measured on them).
    func segmentBytesOnDisk() -> Int64 {
        let names = (try? fileSystem.contentsOfDirectory(segmentsDirectory)) ?? []
        return names.reduce(Int64(0)) { total, name in
            SegmentFile.parseName(name) == nil ? total : total + Int64(fileSystem.fileSize(segmentsDirectory + "/" + name) ?? 0)
        }
    }

    /// The streams whose records a scavenge may remove, with their rules. Under the index lock.
    private func scavengeRules(erasing: Set<String>, now: Int64) -> [String: ScavengeRule] {
        var rules: [String: ScavengeRule] = [:]
        for stream in index.streams {
            let erased = erasing.contains(stream.name)
            let m = stream.metadata
            guard erased || stream.tombstoned || stream.deletedThrough > 0 || m.maxCount != nil || m.truncateBefore != nil || m.maxAge != nil
            else { continue }
            let visibility = StreamVisibility(lastRevision: stream.lastRevision, deletedThrough: stream.deletedThrough, metadata: m, nowMicros: now)
            rules[stream.name] = ScavengeRule(visibility: visibility, tombstoned: stream.tombstoned, erased: erased)
        }
        return rules
    }

    /// Whether a record goes: an event a rule hides, or a metadata record of an erased stream.
    /// (Other control records of affected streams go too, but only once restated.)
    private static func removes(_ view: RecordView, rules: [String: ScavengeRule]) -> Bool {
        guard let rule = rules[view.streamName] else { return false }
        if view.kind == .event { return rule.removes(revision: view.revision, recordedAtMicros: view.recordedAtMicros) }
        return rule.erased && view.kind == .streamMetadata
    }

    /// Whether the newest segment holds a record the scavenge would remove (it is then sealed
    /// first, so that the scavenge reaches it).
    private func newestSegmentHasRemovable(_ rules: [String: ScavengeRule]) throws -> Bool {
        guard let (segment, end) = withIndexLock({ index.lastSegment.map { ($0, $0.end) } }) else { return false }
        var found = false
        _ = try RecordDecoder.scan(try segment.bytes, from: SegmentHeader.size, until: end, inspectTail: false) { view in
            if !found && LogEngine.removes(view, rules: rules) { found = true }
        }
        return found
    }

    /// Reads the sealed segments twice: which streams lose records, then each segment's kept
    /// records into its new generation's temporary file (written and synced).
    private func planScavenge(_ rules: [String: ScavengeRule], erasing: Set<String>) throws -> ScavengePublication {
        let sealed: [SegmentEntry] = withIndexLock { Array(index.segments.dropLast()) }
        var affected = erasing
        var removedPerSegment: [Int] = []
        for segment in sealed {
            var removed = 0
            _ = try RecordDecoder.scan(try segment.bytes, from: SegmentHeader.size, until: withIndexLock { segment.end }, inspectTail: false) { view in
                guard LogEngine.removes(view, rules: rules) else { return }
                if view.kind == .event { removed += 1 }
                affected.insert(view.streamName)
            }
            removedPerSegment.append(removed)
        }
        var rewrites: [SegmentRewrite] = []
        do {
            for (segment, removed) in zip(sealed, removedPerSegment) {
                if let rewrite = try rewrite(segment, removedEvents: removed, rules: rules, affected: affected) { rewrites.append(rewrite) }
            }
        } catch {
            for rewrite in rewrites { if let path = rewrite.temporaryPath { try? fileSystem.remove(path) } }
            throw error
        }
        return ScavengePublication(rewrites: rewrites, affected: affected, erased: erasing)
    }

    /// Writes a segment's new generation without its removed records, or returns nil when it
    /// would remove nothing. A transaction whose commit record goes gets the commit flag on its
    /// last kept record (the CRC recomputed), so every kept record stays committed.
    private func rewrite(_ segment: SegmentEntry, removedEvents: Int, rules: [String: ScavengeRule],
                         affected: Set<String>) throws -> SegmentRewrite? {
        let bytes = try segment.bytes
        let end = withIndexLock { segment.end }
        var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[0..<SegmentHeader.size]))
        out.reserveCapacity(end)
        var dropped = 0
        var kept = 0
        var lastKeptInTransaction: Int?  // offset in `out` of the transaction's last kept record
        _ = try RecordDecoder.scan(bytes, from: SegmentHeader.size, until: end, inspectTail: false) { view in
            let goes = LogEngine.removes(view, rules: rules) || (view.kind != .event && affected.contains(view.streamName))
            if goes {
                dropped += 1
            } else {
                lastKeptInTransaction = out.count
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[view.offset..<view.end]))
                kept += 1
            }
            if view.isCommit {
                if goes, let at = lastKeptInTransaction { LogEngine.markCommit(&out, recordAt: at) }
                lastKeptInTransaction = nil
            }
        }
        guard dropped > 0 else { return nil }
        let finalPath = segmentsDirectory + "/" + SegmentFile.fileName(firstPosition: segment.firstPosition, generation: segment.generation + 1)
        guard kept > 0 else {
            return SegmentRewrite(entry: segment, temporaryPath: nil, finalPath: finalPath, removedEvents: removedEvents)
        }
        out.append(contentsOf: repeatElement(0, count: RecordFormat.frameSize))  // the end marker
        let temporary = finalPath + LogEngine.scavengeTemporarySuffix
        let file = try StrataErrorBridge.run { try fileSystem.open(temporary, mode: .truncate) }
        defer { file.close() }
        try out.withUnsafeBytes { raw in try StrataErrorBridge.run { try file.write(raw, at: 0) } }
        try StrataErrorBridge.run { try file.sync() }
        return SegmentRewrite(entry: segment, temporaryPath: temporary, finalPath: finalPath, removedEvents: removedEvents)
    }

    /// Sets the commit flag of the record at `offset` in `bytes` and recomputes its CRC.
    private static func markCommit(_ bytes: inout [UInt8], recordAt offset: Int) {
        bytes[offset + 9] |= RecordFlags.commit.rawValue
        bytes.withUnsafeMutableBytes { raw in
            let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
            let body = UnsafeRawBufferPointer(rebasing: raw[(offset + RecordFormat.frameSize)..<(offset + RecordFormat.frameSize + length)])
            raw.storeBytes(of: CRC32C.checksum(body).littleEndian, toByteOffset: offset + 4, as: UInt32.self)
        }
    }

    /// Publishes a scavenge: restates the affected streams, renames the new generations into
    /// place, swaps them into the index, removes the old files and saves a checkpoint. Writer
    /// thread, under the directory lock, between batches.
    func publishScavenge(_ publication: ScavengePublication, now: Int64, buffer: inout [UInt8]) throws {
        let current = withIndexLock { index.segments }
        let rewrites = publication.rewrites.filter { rewrite in
            // Retention may have dropped a segment since the plan: its rewrite is moot.
            let live = current.contains { $0 === rewrite.entry }
            if !live, let path = rewrite.temporaryPath { try? fileSystem.remove(path) }
            return live
        }
        if !index.allowsGaps {
            try StrataErrorBridge.run { try Manifest.upgrade(in: directory, to: Manifest.scavengedVersion, fileSystem: fileSystem) }
            withIndexLock { index.allowsGaps = true }
        }
        var records: [PendingRecord] = []
        for name in publication.affected.sorted() {
            guard let stream = index.stream(name) else { continue }
            records += restatement(of: stream, revisionFloor: true, withMetadata: !publication.erased.contains(name))
        }
        do {
            try appendRestatement(records, now: now, buffer: &buffer)
        } catch let error as StrataError {
            if case .io = error, let last = index.lastSegment {
                withIndexLock { failure = error }
                discardUnsynced(last, through: last.end + buffer.count)
            }
            throw error
        }
        withIndexLock {
            for name in publication.erased { index.forgetMetadata(of: name) }
        }
        // From here the checkpoint's offsets would describe the old files.
        try? fileSystem.remove(directory + "/" + IndexCheckpoint.fileName)
        try StrataErrorBridge.run {
            try fileSystem.syncDirectory(directory)
            for rewrite in rewrites {
                if let path = rewrite.temporaryPath { try fileSystem.rename(path, to: rewrite.finalPath) }
            }
            try fileSystem.syncDirectory(segmentsDirectory)
        }
        var replacements: [ObjectIdentifier: SegmentEntry?] = [:]
        for rewrite in rewrites {
            guard rewrite.temporaryPath != nil else { replacements[ObjectIdentifier(rewrite.entry)] = .some(nil); continue }
            let file = try StrataErrorBridge.run { try SegmentFile.open(path: rewrite.finalPath, writable: true, fileSystem: fileSystem) }
            let entry = try SegmentEntry(file: file, generation: rewrite.entry.generation + 1)
            _ = try RecordDecoder.scan(try entry.bytes, from: SegmentHeader.size, inspectTail: false) { view in
                guard view.kind == .event else { return }
                let slot = entry.firstPosition + UInt64(entry.eventCount)
                if view.position > slot { entry.offsets.append(contentsOf: repeatElement(0, count: Int(view.position - slot))) }
                entry.offsets.append(UInt32(view.offset))
                entry.lastRecordedAt = view.recordedAtMicros
            }
            entry.end = (try entry.bytes).count - RecordFormat.frameSize
            // The replaced generation's index was in its index file: so is the new one's (the
            // indexed segments stay the oldest ones). Its ids and revisions were out of memory
            // already, and the new generation holds a subset of them.
            if rewrite.entry.table != nil {
                do {
                    guard let table = try indexFile(for: entry) else { throw StrataError.unsupported("indexing in a read-only open") }
                    entry.table = table
                    entry.offsets = []
                } catch {
                    // The new generation is published: without its index, this process's view
                    // would be incomplete. Stop; the next open indexes it.
                    let stored = (error as? StrataError) ?? .io(path: rewrite.finalPath, operation: "index", reason: "\(error)")
                    withIndexLock { failure = stored }
                    throw stored
                }
            }
            replacements[ObjectIdentifier(rewrite.entry)] = .some(entry)
        }
        withIndexLock {
            index.segments = index.segments.compactMap { segment in
                guard let replacement = replacements[ObjectIdentifier(segment)] else { return segment }
                return replacement
            }
            if let first = index.segments.first { index.firstPosition = Swift.max(index.firstPosition, first.firstPosition) }
        }
        for rewrite in rewrites {
            let old = segmentsDirectory + "/" + SegmentFile.fileName(firstPosition: rewrite.entry.firstPosition, generation: rewrite.entry.generation)
            compressionGate.drop(old) {
                try? fileSystem.remove(old)
                try? fileSystem.remove(old + ".gz")
            }
            try? fileSystem.remove(indexFilePath(firstPosition: rewrite.entry.firstPosition, generation: rewrite.entry.generation))
        }
        try? fileSystem.syncDirectory(segmentsDirectory)
        metrics.segments.record(index.segments.count)
        try writeCheckpoint()
        if configuration.compressSealedSegments {
            for rewrite in rewrites where rewrite.temporaryPath != nil { compressInBackground(rewrite.finalPath) }
        }
    }
}

extension LogIndex {
    /// Forgets a stream's metadata (an erasure removed it from the log).
    func forgetMetadata(of name: String) {
        guard let id = streamIDs[name] else { return }
        streams[id].metadata = StreamMetadata()
    }
}
