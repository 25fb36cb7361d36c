import Foundation
@_spi(Machinery) import Strata
import StrataConsumers
import StrataJSON
#if canImport(Glibc)
import Glibc
#endif

/// The exporter's file state: the open (staged) files, at most one per hour and
/// ``ExportConfiguration/maxOpenFiles`` in all, finishing and publishing them, the export
/// journal, and the checkpoint that may be saved.
///
/// Invariants (docs/LAKEHOUSE.md, "Crash safety"):
/// - the saved checkpoint never passes an event that is not in a published file: while files
///   are open it is at most their lowest first position − 1;
/// - a published file with events beyond the saved checkpoint is listed in the journal before
///   the checkpoint moves and before anything else is published, unless the checkpoint can pass
///   its last event; so only the last publish can be unlisted, and it is named after the first
///   event of its hour that a restart writes again (the restart replaces it);
/// - events that a journal entry of the run's start covers are in a published file: skipped.
actor ExportWriter {
    private let configuration: ExportConfiguration
    private let target: any ExportTarget
    private let checkpoints: FileCheckpointStore
    private var encoder = EventLineEncoder()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private final class OpenFile {
        let name: ExportFileName
        let stagingPath: String
        var fd: Int32
        var lineBytes = 0
        var events = 0
        /// The position of the last event written into it (files least recently written go first).
        var lastPosition: UInt64
        let openedAt: ContinuousClock.Instant
        let deflater: GzipDeflater?
        var sealed = false
        /// Bytes written since the last writeback hint.
        var unhinted = 0
        /// Lines not yet written to the file (uncompressed).
        let lines: ByteSink
        /// Bytes ready for the file (compressed when gzip) not yet written.
        var output: [UInt8] = []

        init(name: ExportFileName, stagingPath: String, fd: Int32, first: UInt64, deflater: GzipDeflater?, lines: ByteSink) {
            self.name = name
            self.stagingPath = stagingPath
            self.fd = fd
            lastPosition = first
            openedAt = .now
            self.deflater = deflater
            self.lines = lines
        }
    }

    /// The open files by hour.
    private var files: [Int64: OpenFile] = [:]
    /// Line buffers of finished files, reused (at most ``ExportConfiguration/maxOpenFiles``).
    private var spareBuffers: [ByteSink] = []
    /// The last event handled: written into a file, or skipped as the journal covers it (events
    /// at or before it that arrive again are skipped).
    private var lastAccepted: UInt64
    /// The highest position the consumer committed through.
    private var committedThrough: UInt64
    /// The checkpoint last saved.
    private var saved: UInt64
    /// The journal's entries: files published beyond the saved checkpoint.
    private var journal: [ExportJournal.Entry]
    /// Whether `journal` holds an entry the journal written under the target lacks.
    private var journalUnwritten = false
    /// The journal of the run's start by hour: the events these files hold are skipped.
    private let recovered: [Int64: [ExportJournal.Entry]]
    /// The highest last position in `recovered` (later events need no look-up).
    private let recoveredThrough: UInt64
    /// The hours of files published in this run (the first of each hour removes its twin of the
    /// other compression).
    private var publishedHours: Set<Int64> = []

    private(set) var exportedEvents = 0
    private(set) var publishedFiles = 0
    private(set) var publishedKeys: [String] = []
    private let meters: ExporterMetrics

    private static let flushThreshold = 1 << 20
    private static let writebackHint = 8 << 20

    /// Creates the writer of a run starting after `checkpoint`, with the journal entries
    /// ``ExportJournal/load(from:source:checkpoint:)`` returned; removes this source's staged
    /// files left by a crash.
    init(configuration: ExportConfiguration, target: any ExportTarget, checkpoints: FileCheckpointStore, checkpoint: UInt64,
         journal: [ExportJournal.Entry]) throws {
        self.configuration = configuration
        self.target = target
        self.checkpoints = checkpoints
        lastAccepted = checkpoint
        committedThrough = checkpoint
        saved = checkpoint
        self.journal = journal
        recovered = Dictionary(grouping: journal, by: \.hour)
        recoveredThrough = journal.map(\.last).max() ?? 0
        meters = ExporterMetrics(factory: configuration.metrics, exporter: configuration.source)
        meters.position.record(checkpoint)
        meters.openFiles.record(0)
        meters.journalEntries.record(journal.count)
        try DurableFile.createDirectory(target.stagingDirectory)
        try Self.removeStaleStagingFiles(in: target.stagingDirectory, source: configuration.source)
    }

    /// Staged files of this source left by a crash: their events are after the checkpoint, so
    /// they are exported again; the partial file is worthless.
    private static func removeStaleStagingFiles(in directory: String, source: String) throws {
        let prefix = SafeFileName.encode(source) + "_"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(".partial") {
            if let parsed = ExportFileName.parse(fileName: String(entry.dropLast(".partial".count))), parsed.source == source {
                try DurableFile.remove(directory + "/" + entry)
            }
        }
    }

    // MARK: - Consumer side

    /// Writes a batch of events (in position order) into the files of their hours, finishing and
    /// publishing as needed. Events at or before the last one handled are skipped, so a retried
    /// batch is not doubled; so are events that a journal entry of the run's start covers.
    func write(_ events: [RecordedEvent]) async throws {
        await acquire()
        defer { release() }
        try await settle()
        for event in events where event.position > lastAccepted {
            let prepared = encoder.prepare(event)
            let hour = Self.hour(of: prepared.timestamp)
            if event.position <= recoveredThrough,
               recovered[hour]?.contains(where: { $0.covers(hour: hour, position: event.position) }) == true {
                lastAccepted = event.position
                continue
            }
            let file: OpenFile
            if let open = files[hour] {
                file = open
            } else {
                if files.count >= configuration.maxOpenFiles, let coldest = files.values.min(by: { $0.lastPosition < $1.lastPosition }) {
                    try await publish(coldest)
                }
                file = try openFile(first: event.position, hour: hour)
            }
            let before = file.lines.count
            encoder.append(event, prepared: prepared, to: file.lines)
            file.lineBytes += file.lines.count - before
            file.events += 1
            file.lastPosition = event.position
            lastAccepted = event.position
            exportedEvents += 1
            meters.events.increment()
            if file.lines.count >= Self.flushThreshold { try flushLines(file, finish: false) }
            if isFull(file) { try await publish(file) }
            if journal.count >= configuration.journalLimit { try await publishAll() }
        }
    }

    private func isFull(_ file: OpenFile) -> Bool {
        file.lineBytes >= configuration.maxFileBytes || file.events >= (configuration.maxFileEvents ?? .max)
    }

    /// Records that the consumer handled everything through `position`, and saves what may be saved.
    func committed(through position: UInt64) async throws {
        await acquire()
        defer { release() }
        committedThrough = max(committedThrough, position)
        try await saveCheckpoint()
    }

    /// Publishes the open files older than `age`.
    func rollIfOlder(than age: Duration) async throws {
        await acquire()
        defer { release() }
        try await settle()
        let now = ContinuousClock.now
        for file in files.values.sorted(by: { $0.name.firstPosition < $1.name.firstPosition }) where now - file.openedAt >= age {
            try await publish(file)
        }
    }

    /// Publishes every open file and saves the checkpoint: the end of a run.
    func finish() async throws {
        await acquire()
        defer { release() }
        try await settle()
        try await publishAll()
        try await saveCheckpoint()
    }

    /// Closes and removes the staged files without publishing (after a failure that stops the run).
    func abandon() async {
        await acquire()
        defer { release() }
        for file in files.values {
            if file.fd >= 0 { close(file.fd) }
            unlink(file.stagingPath)
        }
        files.removeAll()
        meters.openFiles.record(0)
    }

    // Serializes operations across their suspension points: actor isolation alone would let a
    // timed roll interleave with a batch while an upload is in flight.
    private func acquire() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// Finishes what a failure interrupted before anything else happens: the journal entry and
    /// checkpoint of the last publish, then files whose publish failed (sealed) or that are full.
    private func settle() async throws {
        try await saveCheckpoint()
        for file in files.values.sorted(by: { $0.name.firstPosition < $1.name.firstPosition }) where file.sealed || isFull(file) {
            try await publish(file)
        }
    }

    /// The checkpoint that may be saved now.
    private var safeCheckpoint: UInt64 {
        if let first = files.values.lazy.map(\.name.firstPosition).min() { return first - 1 }
        return max(committedThrough, lastAccepted)
    }

    /// Writes the journal if it lacks an entry, then saves the checkpoint if it may move: the
    /// checkpoint never passes a published file the journal does not list.
    private func saveCheckpoint() async throws {
        if journalUnwritten { try await writeJournal() }
        let safe = safeCheckpoint
        guard safe > saved else { return }
        try await checkpoints.resetCheckpoint(for: configuration.consumerName, to: safe)
        saved = safe
        meters.position.record(safe)
        journal.removeAll { $0.last <= safe }
        meters.journalEntries.record(journal.count)
    }

    /// Replaces the journal under the target with the entries beyond the saved checkpoint.
    private func writeJournal() async throws {
        journal.removeAll { $0.last <= saved }
        let state = ExportJournal(source: configuration.source, checkpoint: saved, files: journal)
        try await target.writeState(try state.encoded(), key: ExportJournal.key(source: configuration.source))
        journalUnwritten = false
        meters.journalEntries.record(journal.count)
    }

    // MARK: - Files

    private static func hour(of microseconds: Int64) -> Int64 {
        let h = microseconds / UTCTime.microsecondsPerHour
        return microseconds < 0 && microseconds % UTCTime.microsecondsPerHour != 0 ? h - 1 : h
    }

    private func openFile(first: UInt64, hour: Int64) throws -> OpenFile {
        let compressed = configuration.compression != .none
        let name = ExportFileName(source: configuration.source, firstPosition: first, hour: hour, compressed: compressed)
        let path = target.stagingDirectory + "/" + name.fileName + ".partial"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StrataError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        var deflater: GzipDeflater?
        if case .gzip(let level) = configuration.compression {
            do { deflater = try GzipDeflater(level: Int32(level)) } catch {
                close(fd)
                unlink(path)
                throw error
            }
        }
        let lines = spareBuffers.popLast() ?? ByteSink(capacity: Self.flushThreshold + 256 * 1024)
        lines.count = 0
        let file = OpenFile(name: name, stagingPath: path, fd: fd, first: first, deflater: deflater, lines: lines)
        files[hour] = file
        meters.openFiles.record(files.count)
        return file
    }

    /// Moves a file's buffered lines into it (through the compressor when gzip). Bytes leave the
    /// buffers only once written, so a failed write can be retried.
    private func flushLines(_ file: OpenFile, finish: Bool) throws {
        var written = 0
        var failure: StrataError?
        if let deflater = file.deflater {
            if file.lines.count > 0 || (finish && !deflater.finished) {
                try deflater.compress(file.lines.bytes, finish: finish, into: &file.output)
                file.lines.count = 0
            }
            (written, failure) = file.output.withUnsafeBytes { Self.writeAll($0, to: file) }
            if written == file.output.count {
                file.output.removeAll(keepingCapacity: true)
            } else if written > 0 {
                file.output.removeFirst(written)
            }
        } else {
            (written, failure) = Self.writeAll(file.lines.bytes, to: file)
            file.lines.removeFirst(written)
        }
        if let failure { throw failure }
        file.unhinted += written
        if file.unhinted >= Self.writebackHint {
            // Start writing the file back now, on the kernel's time, so that the fsync that
            // publishes it has little left to do. On Linux DONTNEED starts writeback of dirty
            // pages and drops clean ones (export files are not read again). A hint: a failure
            // changes nothing.
            _ = posix_fadvise(file.fd, 0, 0, POSIX_FADV_DONTNEED)
            file.unhinted = 0
        }
    }

    /// Writes all of `bytes`; returns how many were written and the error that stopped it.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to file: OpenFile) -> (Int, StrataError?) {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(file.fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                return (written, StrataError.io(path: file.stagingPath, operation: "write", reason: String(cString: strerror(errno))))
            }
            written += n
        }
        return (written, nil)
    }

    /// Publishes a file (docs/LAKEHOUSE.md, "Order of a publish"): saves what the last publish
    /// left unsaved, seals the file, removes its twin (the first file of its hour in this run),
    /// renames or uploads it, lists it in the journal unless the checkpoint can pass it, and
    /// saves the checkpoint. A failure leaves the file sealed and open, to be published again.
    private func publish(_ file: OpenFile) async throws {
        try await saveCheckpoint()
        if !file.sealed {
            try flushLines(file, finish: true)
            if fsync(file.fd) != 0 {
                throw StrataError.io(path: file.stagingPath, operation: "fsync", reason: String(cString: strerror(errno)))
            }
            close(file.fd)
            file.fd = -1
            file.sealed = true
        }
        let hour = file.name.hour
        if !publishedHours.contains(hour) {
            try await target.remove(key: file.name.twin.key)
        }
        try await target.publish(stagedFile: file.stagingPath, key: file.name.key)
        publishedHours.insert(hour)
        files[hour] = nil
        if spareBuffers.count < configuration.maxOpenFiles { spareBuffers.append(file.lines) }
        meters.openFiles.record(files.count)
        publishedFiles += 1
        meters.files.increment()
        publishedKeys.append(file.name.key)
        if publishedKeys.count > 1000 { publishedKeys.removeFirst(publishedKeys.count - 1000) }
        if safeCheckpoint < file.lastPosition {
            journal.append(ExportJournal.Entry(hour: hour, first: file.name.firstPosition, last: file.lastPosition, key: file.name.key))
            journalUnwritten = true
        }
        try await saveCheckpoint()
    }

    /// Publishes every open file, lowest first position first (so the checkpoint moves with each).
    private func publishAll() async throws {
        for file in files.values.sorted(by: { $0.name.firstPosition < $1.name.firstPosition }) {
            try await publish(file)
        }
    }

    /// Counts for progress displays.
    var progress: (events: Int, files: Int, lastPosition: UInt64) { (exportedEvents, publishedFiles, lastAccepted) }
}
