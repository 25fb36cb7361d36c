import Foundation
import CoreMetrics
import Logging
import Strata
import StrataStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The embedded engine behind ``LogEventStore``: one data directory, its segments and indexes.
///
/// Concurrency: one writer thread performs every change to the log and to the index (appends,
/// deletes, metadata, catching up with other processes, retention, checkpoints), taking the
/// directory lock per batch so that several processes take turns. Readers run on the caller's
/// task, take the index lock only to copy the locations they need, and decode records from the
/// segments' immutable mappings outside the lock.
final class LogEngine: @unchecked Sendable {
    // Safe to share: `index` is mutated only by the writer thread while holding `indexLock`, and
    // read by other threads only under `indexLock`; the writer's own unlocked reads cannot race
    // with a mutation because it is the only mutator. `failure` and `closed` are guarded by `indexLock`.
    let directory: String
    let segmentsDirectory: String
    /// Every file operation goes through it (POSIX, or a simulated disk in tests).
    let fileSystem: any FileSystem
    let configuration: LogConfiguration
    /// Where the engine reports opening and recovery, rolls, compressions, retention and
    /// failures (docs/ENGINE.md, "Logging").
    let logger: Logger
    /// Counters, timers and gauges (docs/ENGINE.md, "Metrics").
    let metrics: EngineMetrics
    /// The directory lock; nil in a read-only open, which never takes it.
    let directoryLock: DirectoryLock?
    /// The store's identity, from the manifest.
    let identity: StoreIdentity
    let hint: HeadHint
    let indexLock = NSLock()
    let index = LogIndex()
    let notifier: AppendNotifier
    var failure: StrataError?
    var closed = false
    /// Head position covered by the index checkpoint on disk.
    var checkpointHead: UInt64 = 0
    /// The lock generation this process left in `HEAD` when it last released the lock (writer
    /// thread only); nil before the first batch.
    var lockGeneration: UInt64?
    /// Whether this process appended anything (writer thread only).
    var wroteSinceOpen = false
    /// Whether a segment was sealed in this batch, so retention should run after it (writer thread).
    var retentionDue = false
    /// Whether sealed segments wait for their index file (writer thread): set at a seal, cleared
    /// when a build fails (retried after the next seal).
    var indexingDue = false
    /// The background build of sealed segments' index files.
    let indexBuilds = IndexBuilds()
    /// Offset in the newest segment from which its writes are not known to be durable (writer
    /// thread only); nil when everything written is synced.
    var unsyncedFrom: Int?
    /// Keeps retention from racing background compressions.
    let compressionGate = CompressionGate()
    /// Whether a scavenge or erasure runs (one at a time per store).
    let scavengeRunning = Atomic<Bool>(false)
    /// Appends, deletes, metadata changes, refreshes and the close, for the writer thread.
    let queue = GroupCommitQueue<WriteRequest, [AppendResult]>(limits: .init(maxBatchBytes: LogEngine.maxBatchBytes))

    init(directory: String, configuration: LogConfiguration, fileSystem: any FileSystem = POSIXFileSystem(),
         logger: Logger = LogEngine.silentLogger, metrics: (any MetricsFactory)? = nil) throws {
        guard configuration.segmentSize >= 4096 else { throw StrataError.invalidArgument("segmentSize must be at least 4096 bytes") }
        let started = ContinuousClock.now
        var dir = directory
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        self.directory = dir
        self.segmentsDirectory = dir + "/" + SegmentFile.directoryName
        self.configuration = configuration
        self.fileSystem = fileSystem
        var logger = logger
        logger[metadataKey: "store"] = .string(dir)
        self.logger = logger
        self.metrics = EngineMetrics(factory: metrics, store: dir)
        let readOnly = configuration.readOnly
        if !readOnly { try StrataErrorBridge.run { try fileSystem.makeDirectories(dir) } }
        // Refuse a directory that holds something else before creating any file in it.
        let entries = (try? fileSystem.contentsOfDirectory(dir)) ?? []
        if !entries.contains(Manifest.fileName),
           readOnly || entries.contains(where: { $0 != DirectoryLock.fileName && $0 != HeadHint.fileName && !$0.hasPrefix(".") && $0 != Manifest.fileName + ".tmp" }) {
            throw StrataErrorBridge.convert(FileError.notAStrataDirectory(path: dir))
        }
        let lock = readOnly ? nil : try StrataErrorBridge.run { try DirectoryLock(directory: dir, fileSystem: fileSystem) }
        try StrataErrorBridge.run { try lock?.lock() }
        defer { lock?.unlock() }
        self.directoryLock = lock
        let manifest = try StrataErrorBridge.run {
            readOnly ? try Manifest.load(from: dir, fileSystem: fileSystem) : try Manifest.loadOrCreate(in: dir, fileSystem: fileSystem)
        }
        index.allowsGaps = manifest.version >= Manifest.scavengedVersion
        self.identity = try StoreIdentity(manifest.identity)
        if !readOnly { try StrataErrorBridge.run { try fileSystem.makeDirectories(dir + "/" + SegmentFile.directoryName) } }
        self.hint = try HeadHint(directory: dir, fileSystem: fileSystem, readOnly: readOnly)
        self.notifier = AppendNotifier()
        try recover()
        notifier.advance(to: index.head)
        if !readOnly { publishHint() }
        self.metrics.segments.record(index.segments.count)
        self.metrics.head.record(index.head)
        let elapsed = ContinuousClock.now - started
        logger.info("opened", metadata: [
            "head": .stringConvertible(index.head), "segments": .stringConvertible(index.segments.count),
            "index": .string(checkpointHead > 0 ? "checkpoint at \(checkpointHead), replayed \(index.head - checkpointHead) events" : "rebuilt from the log"),
            "milliseconds": .stringConvertible(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
        ])
    }

    /// The default logger: discards everything (a library must not write to a command's stdout).
    static let silentLogger = Logger(label: "strata.log", factory: { _ in SwiftLogNoOpLogHandler() })

    // MARK: - Segment files on disk

    struct SegmentFileName: Comparable {
        let firstPosition: UInt64
        let path: String
        let compressed: Bool
        /// How many times a scavenge rewrote the segment (docs/FORMAT.md, "Scavenging").
        var generation: Int = 0
        static func < (a: SegmentFileName, b: SegmentFileName) -> Bool { a.firstPosition < b.firstPosition }
    }

    /// The segment files, oldest first. Of several files for one first position, the highest
    /// generation wins (a scavenge's rewrite), and of a plain and a compressed file of one
    /// generation, the plain one (a compression was interrupted).
    func listSegmentFiles() throws -> [SegmentFileName] {
        let names = try StrataErrorBridge.run { try fileSystem.contentsOfDirectory(segmentsDirectory) }
        var byPosition: [UInt64: SegmentFileName] = [:]
        for name in names {
            guard let parsed = SegmentFile.parseName(name) else { continue }
            let entry = SegmentFileName(firstPosition: parsed.firstPosition, path: segmentsDirectory + "/" + name,
                                        compressed: parsed.compressed, generation: parsed.generation)
            if let existing = byPosition[parsed.firstPosition] {
                if existing.generation > entry.generation { continue }
                if existing.generation == entry.generation && !existing.compressed { continue }
            }
            byPosition[parsed.firstPosition] = entry
        }
        return byPosition.values.sorted()
    }

    /// Opens a listed segment. Another process may compress a sealed segment between the
    /// listing and the open (its `.seg` is replaced by a `.seg.gz` holding the same bytes): a
    /// plain file that has gone is then opened as the compressed one.
    func openSegment(_ name: SegmentFileName) throws -> SegmentEntry {
        if name.compressed {
            return SegmentEntry(compressedPath: name.path, firstPosition: name.firstPosition, generation: name.generation, fileSystem: fileSystem)
        }
        do {
            let file = try StrataErrorBridge.run { try SegmentFile.open(path: name.path, writable: !configuration.readOnly, fileSystem: fileSystem) }
            return try SegmentEntry(file: file, generation: name.generation)
        } catch {
            let compressed = name.path + ".gz"
            guard !fileSystem.exists(name.path), fileSystem.exists(compressed) else { throw error }
            return SegmentEntry(compressedPath: compressed, firstPosition: name.firstPosition, generation: name.generation, fileSystem: fileSystem)
        }
    }

    // MARK: - Opening and recovery

    /// Loads the index (from the checkpoint when it is valid, else from the log), replays the
    /// log past it, and cuts a torn tail. Runs under the directory lock.
    private func recover() throws {
        let readOnly = configuration.readOnly
        if !readOnly { removeLeftovers() }
        let files = try listSegmentFiles()
        // Recovery may cut torn tails: make every other process catch up fully next time.
        if !readOnly { _ = hint.takeLockGeneration() }
        var resumeSegment = 0
        var resumeOffset = SegmentHeader.size
        if let loaded = IndexCheckpoint.load(directory: directory, segmentFiles: files, engine: self, into: index) {
            resumeSegment = loaded.segmentIndex
            resumeOffset = loaded.end
            checkpointHead = index.head
        } else {
            index.reset()
        }
        let headBefore = index.head
        for i in resumeSegment..<files.count {
            let entry: SegmentEntry
            if i < index.segments.count {
                entry = index.segments[i]
            } else {
                entry = try openSegment(files[i])
                if !usable(entry, isNewest: i == files.count - 1) { continue }
                if index.segments.isEmpty { index.firstPosition = entry.firstPosition }
                index.segments.append(entry)
            }
            let start = i == resumeSegment ? resumeOffset : SegmentHeader.size
            let isLast = i == files.count - 1
            try scan(entry, from: start, isLast: isLast, cutTornTail: !readOnly, thorough: true)
            // A rebuild indexes each sealed segment as soon as it is read, so that it never
            // holds more than about one segment's index in memory.
            if !isLast { indexSealedSegments() }
        }
        indexSealedSegments()
        // A scavenged store may have removed the newest events before the newest segment: its
        // name still says where appends continue (positions are never reused).
        if index.allowsGaps, let last = index.lastSegment, last.firstPosition > index.head + 1 { index.head = last.firstPosition - 1 }
        if readOnly { return }
        try makeAdoptedDurable(lastSegment: index.lastSegment)
        if index.head > headBefore + 1_000_000 { try? writeCheckpoint() }
    }

    /// Makes durable what recovery or catching up adopted but may not be: the newest segment's
    /// bytes (a writer killed between its write and its sync leaves them in the page cache
    /// only) and the directory entries of segments (a writer whose directory sync failed
    /// leaves a renamed segment whose name a power loss would undo). Found by the crash
    /// simulation (docs/RELIABILITY.md).
    func makeAdoptedDurable(lastSegment: SegmentEntry?) throws {
        try StrataErrorBridge.run {
            if let file = lastSegment?.file { try file.sync() }
            try fileSystem.syncDirectory(segmentsDirectory)
            try fileSystem.syncDirectory(directory)
        }
    }

    /// Deletes what interrupted file operations leave behind (docs/FORMAT.md, "Crash safety"):
    /// temporary files, and the plain copy of a segment whose compression finished. Files that
    /// another process may still be writing without the lock (checkpoints, compressions) are
    /// only removed when they are over ten minutes old.
    private func removeLeftovers() {
        let now = Date().timeIntervalSince1970
        func age(_ path: String) -> Double {
            now - (fileSystem.modificationTime(path) ?? now)
        }
        let top = (try? fileSystem.contentsOfDirectory(directory)) ?? []
        for name in top where name.hasPrefix(IndexCheckpoint.fileName + ".") && name.hasSuffix(".tmp") {
            let path = directory + "/" + name
            if age(path) > 600 { try? fileSystem.remove(path) }
        }
        let names = (try? fileSystem.contentsOfDirectory(segmentsDirectory)) ?? []
        let set = Set(names)
        // The newest generation of each segment; older ones are a finished scavenge's leftovers.
        var newest: [UInt64: Int] = [:]
        for name in names { if let n = SegmentFile.parseName(name) { newest[n.firstPosition] = Swift.max(newest[n.firstPosition] ?? 0, n.generation) } }
        for name in names {
            let path = segmentsDirectory + "/" + name
            if let n = SegmentFile.parseName(name), n.generation < newest[n.firstPosition] ?? 0 {
                try? fileSystem.remove(path)  // a scavenge renamed the newer generation into place
            } else if name.hasSuffix(LogEngine.scavengeTemporarySuffix) {
                if age(path) > 600 { try? fileSystem.remove(path) }
            } else if name.hasSuffix(".seg.tmp") {
                try? fileSystem.remove(path)  // segments are created under the lock we hold
            } else if name.hasSuffix(".tmp"), name.contains(SegmentIndexFile.fileExtension + ".") {
                if age(path) > 600 { try? fileSystem.remove(path) }  // another process may be writing it
            } else if let n = SegmentIndexFile.parseName(name), newest[n.firstPosition] != n.generation {
                try? fileSystem.remove(path)  // its segment (that generation) is gone
            } else if name.hasSuffix(".seg.gz.tmp") {
                if age(path) > 600 { try? fileSystem.remove(path) }
            } else if name.hasSuffix(SegmentFile.fileExtension), set.contains(name + ".gz") {
                try? fileSystem.remove(path)  // the .gz was renamed into place: the compression completed
            }
        }
    }

    /// Whether a segment belongs in the index. A segment that holds no record yet is left out
    /// unless it is the newest and named after the next position (then the writer fills it): a
    /// writer killed right after creating a segment leaves such a file, and another may have
    /// written those positions elsewhere since. Such files are never deleted, because a live
    /// process may be about to write into one it adopted.
    func usable(_ entry: SegmentEntry, isNewest: Bool) -> Bool {
        guard let file = entry.file, let bytes = try? entry.bytes,
              bytes.count >= SegmentHeader.size + RecordFormat.frameSize,
              bytes.loadUnaligned(fromByteOffset: SegmentHeader.size, as: UInt64.self) == 0 else { return true }
        _ = file
        // In a scavenged store the newest segment may start past the last stored event.
        return isNewest && (entry.firstPosition == index.head + 1 || (index.allowsGaps && entry.firstPosition > index.head))
    }

    /// Reads the committed records of a segment from `start` into the index. In the last
    /// segment, with `cutTornTail` (only under the directory lock), what follows the last commit
    /// record is cut unless committed records follow it (then it is corruption: refuse). With
    /// `thorough`, the whole rest of the file is inspected even after a clean end marker (open);
    /// otherwise only when the scan did not stop cleanly (catching up between batches).
    func scan(_ entry: SegmentEntry, from start: Int, isLast: Bool, cutTornTail: Bool, thorough: Bool = false) throws {
        let bytes = try entry.bytes
        let outcome = try RecordDecoder.scan(bytes, from: start, inspectTail: isLast && cutTornTail && thorough) { view in
            try index.apply(view, in: entry)
        }
        entry.end = outcome.committedEnd
        if outcome.committedRecords > 0 { entry.lastRecordCRC = nil }
        if !isLast {
            if let problem = outcome.corruption(path: entry.path, sealed: true) { throw StrataErrorBridge.convert(problem) }
            return
        }
        guard cutTornTail, outcome.committedEnd < bytes.count else { return }
        var clean = false
        switch outcome.stop {
        case .end, .limit: clean = !outcome.hasUncommittedRecords && !outcome.nonzeroBytesAfterStop
        case .invalid: clean = false
        }
        if clean { return }
        let tailEnd = RecordDecoder.nonzeroEnd(in: bytes, range: outcome.committedEnd..<bytes.count)
        guard tailEnd > outcome.committedEnd else { return }
        if let later = LogEngine.findCommittedRecord(in: bytes, after: outcome.stopOffset, beyond: index.head),
           !RecordDecoder.isTornLastWrite(bytes, damagedFrom: outcome.stopOffset) {
            throw StrataError.corruption(path: entry.path, offset: Int64(outcome.stopOffset),
                                         reason: "an invalid record is followed by committed records (at offset \(later)); run `strata verify` — the store will not cut them")
        }
        if let file = entry.file {
            try StrataErrorBridge.run { _ = try file.discardTail(from: outcome.committedEnd) }
            metrics.tornTailsCut.increment()
            logger.warning("cut a torn tail (a write interrupted by a crash; never acknowledged)", metadata: [
                "segment": .string(entry.path), "offset": .stringConvertible(outcome.committedEnd),
                "bytes": .stringConvertible(tailEnd - outcome.committedEnd),
            ])
        }
    }

    /// Looks for a well-formed commit record with a position beyond `head` anywhere after
    /// `offset`: evidence that damage is in the middle of the log rather than at its torn tail.
    static func findCommittedRecord(in bytes: UnsafeRawBufferPointer, after offset: Int, beyond head: UInt64) -> Int? {
        var at = offset + 1
        let limit = bytes.count - RecordFormat.fixedRecordSize
        while at <= limit {
            let length = Int(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
            if length >= RecordFormat.fixedBodySize && at + RecordFormat.frameSize + length <= bytes.count,
               case .record(let view) = RecordDecoder.decode(bytes, at: at), view.isCommit, view.position > head {
                return at
            }
            at += 1
        }
        return nil
    }

    // MARK: - Other processes

    /// Publishes the end of the log for other processes. Writer thread, under the directory lock.
    func publishHint() {
        let last = index.lastSegment
        hint.store(HeadHint.Value(lastSegmentFirstPosition: last?.firstPosition ?? 0, lastSegmentEnd: UInt64(last?.end ?? 0),
                                  head: index.head))
    }

    /// Whether the hint says the log has more than the index holds (another process appended).
    func hintIsAhead() -> Bool {
        // Without a HEAD to read (a read-only open of a store no writer opened), rescan.
        if !hint.isAvailable { return true }
        guard let v = hint.load() else { return false }
        indexLock.lock()
        defer { indexLock.unlock() }
        let last = index.lastSegment
        return v.head != index.head || v.lastSegmentFirstPosition != (last?.firstPosition ?? 0)
            || v.lastSegmentEnd != UInt64(last?.end ?? 0)
    }

    /// Reads what other processes appended since the index was last brought up to date.
    /// Writer thread only.
    /// - Parameter willWrite: whether this lock holder may modify files (appends, deletes); a
    ///   batch that only refreshes leaves the generation alone, so writers are not made to
    ///   catch up after every follower's refresh.
    func catchUp(willWrite: Bool) throws {
        // A read-only open holds no lock and changes nothing: it reads what is committed, and
        // stops at a torn or half-written tail (the next refresh reads on from there).
        let readOnly = configuration.readOnly
        var generation: UInt64 = 0
        if !readOnly {
            // Under the directory lock. When no other process took the lock since our last
            // batch, there is nothing to read.
            if let mine = lockGeneration, mine == hint.lockGeneration {
                if willWrite { lockGeneration = hint.takeLockGeneration() &+ 1 }
                return
            }
            // Catching up may cut a torn tail: always a modification.
            generation = hint.takeLockGeneration()
            lockGeneration = nil  // set again only once caught up: a failed catch-up is retried
        }
        // Another process held the lock. Its published hint may be incomplete (a writer killed
        // after writing, before publishing), so read the log itself: the rest of our newest
        // segment, then every newer segment file, in order.
        let last = index.lastSegment
        if let last {
            try withIndexLock { try scan(last, from: last.end, isLast: true, cutTornTail: !readOnly) }
        }
        let known = last?.firstPosition ?? 0
        let newer = try listSegmentFiles().filter { $0.firstPosition > known }
        if !newer.isEmpty && !readOnly { try StrataErrorBridge.run { try fileSystem.syncDirectory(segmentsDirectory) } }
        for (i, name) in newer.enumerated() {
            let entry = try openSegment(name)
            if !usable(entry, isNewest: i == newer.count - 1) { continue }
            try withIndexLock {
                if index.segments.isEmpty { index.firstPosition = entry.firstPosition }
                index.segments.append(entry)
                try scan(entry, from: SegmentHeader.size, isLast: i == newer.count - 1, cutTornTail: !readOnly)
            }
        }
        // Segments another process sealed: a writer indexes them in the background (that
        // process may be building the same file: both write identical bytes, renamed
        // atomically); a read-only open uses the files it finds.
        if !newer.isEmpty {
            if readOnly { indexSealedSegments() } else { indexingDue = true }
        }
        if !readOnly { lockGeneration = generation &+ 1 }
    }

    func withIndexLock<T>(_ body: () throws -> T) rethrows -> T {
        indexLock.lock()
        defer { indexLock.unlock() }
        return try body()
    }

    func checkUsable() throws {
        try withIndexLock {
            if let failure { throw StrataError.storeClosed(reason: "stopped after an I/O failure: \(failure)") }
            if closed { throw StrataError.storeClosed(reason: "close() was called") }
        }
    }

    /// Brings the index up to date when another process appended.
    func refreshIfNeeded() async throws {
        try checkUsable()
        if hintIsAhead() { _ = try await queue.submit(.refresh, bytes: 0, events: 0) }
    }
}
