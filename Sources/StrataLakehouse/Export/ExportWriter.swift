import Foundation
@_spi(Machinery) import Strata
import StrataConsumers
import StrataJSON
#if canImport(Glibc)
import Glibc
#endif

/// The exporter's file state: the one open (staged) file, rolling, publishing, and the checkpoint
/// that may be saved.
///
/// Invariants (docs/LAKEHOUSE.md, "Crash safety"):
/// - the saved checkpoint never passes an event that is not in a published file: while a file is
///   open it is at most the file's first position − 1;
/// - it is saved right after each publish, so at most one published file lies beyond it, and
///   that file is named after the first event after the checkpoint — the very name a restart
///   writes again, replacing it.
actor ExportWriter {
    private let configuration: ExportConfiguration
    private let target: any ExportTarget
    private let checkpoints: FileCheckpointStore
    private var encoder = EventLineEncoder()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private struct OpenFile {
        var name: ExportFileName
        var stagingPath: String
        var fd: Int32
        var lineBytes = 0
        var events = 0
        var openedAt: ContinuousClock.Instant
        var deflater: GzipDeflater?
        var sealed = false
        /// Bytes written since the last writeback hint.
        var unhinted = 0
    }

    private var open: OpenFile?
    /// Lines not yet written to the open file (uncompressed).
    private let lines = ByteSink(capacity: ExportWriter.flushThreshold + 256 * 1024)
    /// Bytes ready for the open file (compressed when gzip) not yet written.
    private var output: [UInt8] = []
    /// The last event written into a file (events at or before it that arrive again are skipped).
    private var lastAccepted: UInt64
    /// The highest position the consumer committed through.
    private var committedThrough: UInt64
    /// The checkpoint last saved.
    private var saved: UInt64
    /// Whether the next publish is the first of this run (it removes a twin of the other compression).
    private var firstPublish = true

    private(set) var exportedEvents = 0
    private(set) var publishedFiles = 0
    private(set) var publishedKeys: [String] = []
    private let meters: ExporterMetrics

    private static let flushThreshold = 1 << 20
    private static let writebackHint = 8 << 20

    init(configuration: ExportConfiguration, target: any ExportTarget, checkpoints: FileCheckpointStore, checkpoint: UInt64) throws {
        self.configuration = configuration
        self.target = target
        self.checkpoints = checkpoints
        lastAccepted = checkpoint
        committedThrough = checkpoint
        saved = checkpoint
        meters = ExporterMetrics(factory: configuration.metrics, exporter: configuration.source)
        meters.position.record(checkpoint)
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

    /// Writes a batch of events (in position order) into files, rolling and publishing as needed.
    /// Events at or before the last one written are skipped, so a retried batch is not doubled.
    func write(_ events: [RecordedEvent]) async throws {
        await acquire()
        defer { release() }
        try await writeLocked(events)
    }

    private func writeLocked(_ events: [RecordedEvent]) async throws {
        for event in events where event.position > lastAccepted {
            let prepared = encoder.prepare(event)
            let hour = Self.hour(of: prepared.timestamp)
            // A file whose publish failed earlier (sealed or full) is published before anything else.
            if let file = open, file.sealed || isFull(file) || file.name.hour != hour { try await publishLocked() }
            if open == nil { try await openFile(first: event.position, hour: hour) }
            let before = lines.count
            encoder.append(event, prepared: prepared, to: lines)
            open!.lineBytes += lines.count - before
            open!.events += 1
            lastAccepted = event.position
            exportedEvents += 1
            meters.events.increment()
            if lines.count >= Self.flushThreshold { try flushLines(finish: false) }
            if isFull(open!) { try await publishLocked() }
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

    /// Publishes the open file when it is older than `age`.
    func rollIfOlder(than age: Duration) async throws {
        await acquire()
        defer { release() }
        guard let file = open, ContinuousClock.now - file.openedAt >= age else { return }
        try await publishLocked()
    }

    /// Publishes the open file (if any) and saves the checkpoint: the end of a run.
    func finish() async throws {
        await acquire()
        defer { release() }
        if open != nil { try await publishLocked() }
        try await saveCheckpoint()
    }

    /// Closes and removes the staged file without publishing (after a failure that stops the run).
    func abandon() async {
        await acquire()
        defer { release() }
        if let file = open {
            if file.fd >= 0 { close(file.fd) }
            unlink(file.stagingPath)
            open = nil
            lines.count = 0
            output.removeAll(keepingCapacity: true)
        }
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

    /// The checkpoint that may be saved now.
    private var safeCheckpoint: UInt64 {
        if let file = open { return file.name.firstPosition - 1 }
        return max(committedThrough, lastAccepted)
    }

    private func saveCheckpoint() async throws {
        let safe = safeCheckpoint
        guard safe > saved else { return }
        try await checkpoints.resetCheckpoint(for: configuration.consumerName, to: safe)
        saved = safe
        meters.position.record(safe)
    }

    // MARK: - Files

    private static func hour(of microseconds: Int64) -> Int64 {
        let h = microseconds / UTCTime.microsecondsPerHour
        return microseconds < 0 && microseconds % UTCTime.microsecondsPerHour != 0 ? h - 1 : h
    }

    private func openFile(first: UInt64, hour: Int64) async throws {
        // A publish whose checkpoint could not be saved: save it before a second file exists.
        try await saveCheckpoint()
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
        open = OpenFile(name: name, stagingPath: path, fd: fd, openedAt: .now, deflater: deflater)
    }

    /// Moves buffered lines into the file (through the compressor when gzip). Bytes leave the
    /// buffers only once written, so a failed write can be retried.
    private func flushLines(finish: Bool) throws {
        guard var file = open else { return }
        defer { open = file }
        var written = 0
        var failure: StrataError?
        if let deflater = file.deflater {
            if lines.count > 0 || (finish && !deflater.finished) {
                try deflater.compress(lines.bytes, finish: finish, into: &output)
                lines.count = 0
            }
            (written, failure) = output.withUnsafeBytes { Self.writeAll($0, to: file) }
            if written == output.count {
                output.removeAll(keepingCapacity: true)
            } else if written > 0 {
                output.removeFirst(written)
            }
        } else {
            (written, failure) = Self.writeAll(lines.bytes, to: file)
            lines.removeFirst(written)
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

    private func publishLocked() async throws {
        guard var file = open else { return }
        if !file.sealed {
            try flushLines(finish: true)
            file = open!
            if fsync(file.fd) != 0 {
                throw StrataError.io(path: file.stagingPath, operation: "fsync", reason: String(cString: strerror(errno)))
            }
            close(file.fd)
            file.fd = -1
            file.sealed = true
            open = file
        }
        if firstPublish {
            try await target.remove(key: file.name.twin.key)
        }
        try await target.publish(stagedFile: file.stagingPath, key: file.name.key)
        firstPublish = false
        open = nil
        publishedFiles += 1
        meters.files.increment()
        publishedKeys.append(file.name.key)
        if publishedKeys.count > 1000 { publishedKeys.removeFirst(publishedKeys.count - 1000) }
        try await saveCheckpoint()
    }

    /// Counts for progress displays.
    var progress: (events: Int, files: Int, lastPosition: UInt64) { (exportedEvents, publishedFiles, lastAccepted) }
}

