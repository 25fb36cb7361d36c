import Foundation
import Strata
import Synchronization
import Testing
@testable import StrataLog
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers of the crash, corruption, multi-process and retention suites: the
/// `StrataTestWriter` child process, temporary directories, a seeded generator, bounded waits and
/// a reader of segment files that follows docs/FORMAT.md independently of the engine's decoder.
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

    // MARK: - Temporary directories

    /// A fresh path under the temporary directory (not created).
    static func temporaryPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(label)-\(UUID().uuidString)").path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    // MARK: - Seeds

    /// SplitMix64 (from Strata): small, seeded, replayable.
    typealias Generator = SplitMix64

    /// The value of an integer environment variable, or `fallback`.
    static func environmentInteger(_ name: String, _ fallback: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) } ?? fallback
    }

    // MARK: - Bounded waiting

    struct TimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    struct ChildExited: Error, CustomStringConvertible {
        let what: String
        let status: Int32?
        let lines: Int
        let stderr: String
        var description: String {
            "StrataTestWriter exited (status \(status.map(String.init) ?? "?")) after \(lines) lines, before \(what); stderr: \(stderr)"
        }
    }

    /// Polls `condition` every few milliseconds until it holds; throws ``TimedOut`` after `limit`.
    static func waitUntil(_ what: String, limit: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while try await !condition() {
            if ContinuousClock.now >= deadline { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

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

    /// Names in `directory/segments`, sorted.
    static func segmentNames(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/segments")) ?? []).sorted()
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

// MARK: - The StrataTestWriter child process

/// A running `StrataTestWriter`: its stdout as lines (read by a dedicated thread, never by a
/// test's thread), its exit status, and SIGKILL. Always end it with ``kill()`` or
/// ``waitForExit(limit:)``, which kill it if it is still running and reap it.
final class WriterProcess: Sendable {
    /// The executable: `STRATA_TEST_WRITER`, or the `StrataTestWriter` next to the test bundle.
    static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["STRATA_TEST_WRITER"] { return path }
        var starts: [URL] = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(),
                             URL(fileURLWithPath: Bundle.main.bundlePath)]
        if let path = Bundle.main.executablePath { starts.append(URL(fileURLWithPath: path)) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") { starts.append(bundle.bundleURL) }
        for start in starts {
            var directory = start
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("StrataTestWriter").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                directory = directory.deletingLastPathComponent()
            }
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/StrataTestWriter"
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }()

    private struct State {
        var lines: [String] = []
        var partial: [UInt8] = []
        var stdoutClosed = false
        var status: Int32?
        var reason: Process.TerminationReason?
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let stderrPath: String
    let pid: Int32
    let arguments: [String]
    private let process: Process

    private init(process: Process, pid: Int32, arguments: [String], stderrPath: String) {
        self.process = process
        self.pid = pid
        self.arguments = arguments
        self.stderrPath = stderrPath
    }

    deinit { try? FileManager.default.removeItem(atPath: stderrPath) }

    /// Starts `StrataTestWriter ARGUMENTS`.
    static func start(_ arguments: [String]) throws -> WriterProcess {
        let binary = try #require(executable, "StrataTestWriter not found next to the tests; build with --build-tests or set STRATA_TEST_WRITER")
        let stdout = Pipe()
        let stderrPath = FaultTest.temporaryPath("writer-stderr")
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer { try? stderr.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let box = Mutex<WriterProcess?>(nil)
        process.terminationHandler = { p in
            box.withLock { $0 }?.terminated(status: p.terminationStatus, reason: p.terminationReason)
        }
        try process.run()
        try? stdout.fileHandleForWriting.close()
        let child = WriterProcess(process: process, pid: process.processIdentifier, arguments: arguments, stderrPath: stderrPath)
        // The handler may have run already (a child that exits at once): catch up with it.
        let early = box.withLock { slot -> Bool in
            slot = child
            return !process.isRunning
        }
        if early { child.terminated(status: process.terminationStatus, reason: process.terminationReason) }
        let fd = dup(stdout.fileHandleForReading.fileDescriptor)
        try? stdout.fileHandleForReading.close()
        let reader = Thread { child.readLoop(fd: fd) }
        reader.name = "writer-stdout-\(child.pid)"
        reader.start()
        return child
    }

    private func terminated(status: Int32, reason: Process.TerminationReason) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.status == nil else { return [] }
            s.status = status
            s.reason = reason
            defer { s.exitWaiters = [] }
            return s.exitWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Reads stdout on its own thread. Uses poll with a short timeout so that a pipe whose write
    /// end leaked into another child (and so never reports EOF) is still drained and finished
    /// once this child has exited.
    private func readLoop(fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 20)
            if ready < 0 && errno == EINTR { continue }
            let exited = state.withLock { $0.status != nil }
            if ready > 0 || exited {
                if exited && ready == 0 {
                    // Everything the child wrote is in the pipe: drain without blocking.
                    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    received(buffer[0..<n])
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN && !exited { continue }
                break // EOF, or drained after exit
            }
        }
        state.withLock { $0.stdoutClosed = true }
    }

    private func received(_ bytes: ArraySlice<UInt8>) {
        state.withLock { s in
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    s.lines.append(String(decoding: s.partial, as: UTF8.self))
                    s.partial.removeAll(keepingCapacity: true)
                } else {
                    s.partial.append(byte)
                }
            }
        }
    }

    /// Runs a program to its end (killed after `limit`) and returns its exit status.
    static func run(_ path: String, _ arguments: [String], limit: Duration = .seconds(30)) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let (ended, ending) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { ending.yield($0.terminationStatus); ending.finish() }
        try process.run()
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: limit)
            _ = Glibc.kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }
        var status: Int32 = -1
        for await s in ended { status = s }
        return status
    }

    /// The complete lines printed so far.
    var lines: [String] { state.withLock { $0.lines } }
    /// Whether stdout reached its end (the child exited and everything it printed was read).
    var outputFinished: Bool { state.withLock { $0.stdoutClosed } }
    /// The exit status, once the child has exited (for a signal: the signal number).
    var status: Int32? { state.withLock { $0.status } }
    /// Whether the child exited normally with status 0.
    var exitedCleanly: Bool { state.withLock { $0.status == 0 && $0.reason == .exit } }
    /// What the child printed on stderr.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until the printed lines satisfy `condition`; fails early when the child exits first.
    func waitForLines(_ what: String, limit: Duration = .seconds(30), _ condition: ([String]) -> Bool) async throws {
        try await FaultTest.waitUntil("\(what) from StrataTestWriter \(arguments.joined(separator: " "))", limit: limit) {
            let (lines, finished) = state.withLock { ($0.lines, $0.stdoutClosed) }
            if condition(lines) { return true }
            if finished {
                throw FaultTest.ChildExited(what: what, status: status, lines: lines.count, stderr: stderr)
            }
            return false
        }
    }

    /// Sends SIGKILL (if it still runs), then waits until it is reaped and its output read.
    func kill() async throws {
        if status == nil { _ = Glibc.kill(pid, SIGKILL) }
        try await reap(limit: .seconds(20))
    }

    /// Waits up to `limit` for the child to exit by itself; kills it when it does not. Returns
    /// whether it exited by itself.
    @discardableResult
    func waitForExit(limit: Duration = .seconds(60)) async throws -> Bool {
        let exited = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.exit(); return true }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next()!
            if !first { _ = Glibc.kill(self.pid, SIGKILL) } // the exit task then finishes too
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        try await reap(limit: .seconds(20))
        return exited
    }

    /// Waits for termination and for stdout to be drained.
    private func reap(limit: Duration) async throws {
        await exit()
        try await FaultTest.waitUntil("the stdout of pid \(pid) to be drained", limit: limit) { outputFinished }
    }

    /// Suspends until the termination handler has run. Only called once the child is known to
    /// end (it was killed, or the caller kills it when a deadline passes).
    private func exit() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.status != nil { return true }
                s.exitWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}

// MARK: - Acknowledged appends

/// One `ack` line of the writer.
struct Ack: Hashable {
    let firstPosition: UInt64
    let lastPosition: UInt64
    let stream: String
    let lastRevision: UInt64
    let lastID: UUID

    init?(line: String) {
        let parts = line.split(separator: " ")
        guard parts.count == 6, parts[0] == "ack", let first = UInt64(parts[1]), let last = UInt64(parts[2]),
              let revision = UInt64(parts[4]), let id = UUID(uuidString: String(parts[5])), first <= last,
              revision >= last - first + 1 else { return nil }
        firstPosition = first
        lastPosition = last
        stream = String(parts[3])
        lastRevision = revision
        lastID = id
    }

    static func parse(_ lines: [String]) -> [Ack] { lines.compactMap(Ack.init(line:)) }

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
