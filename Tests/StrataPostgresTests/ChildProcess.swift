import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A child process whose stdout is collected as lines by a dedicated thread (never a test's
/// thread). End it with ``waitForExit(limit:)`` or ``kill()``.
final class ChildProcess: Sendable {
    private struct State {
        var lines: [String] = []
        var partial: [UInt8] = []
        var stdoutClosed = false
        var status: Int32?
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let stderrPath: String
    let pid: Int32

    private init(pid: Int32, stderrPath: String) {
        self.pid = pid
        self.stderrPath = stderrPath
    }

    deinit { try? FileManager.default.removeItem(atPath: stderrPath) }

    /// The `StrataPostgresTestWriter` built next to the tests.
    static let testWriter: String? = {
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(), URL(fileURLWithPath: Bundle.main.bundlePath)]
        if let path = Bundle.main.executablePath { starts.append(URL(fileURLWithPath: path)) }
        for start in starts {
            var directory = start
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("StrataPostgresTestWriter").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                directory = directory.deletingLastPathComponent()
            }
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/StrataPostgresTestWriter"
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }()

    /// Starts `executable arguments`.
    static func start(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
        let stdout = Pipe()
        let stderrPath = FileManager.default.temporaryDirectory.appendingPathComponent("strata-child-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer { try? stderr.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let box = Mutex<ChildProcess?>(nil)
        process.terminationHandler = { p in box.withLock { $0 }?.terminated(p.terminationStatus) }
        try process.run()
        try? stdout.fileHandleForWriting.close()
        let child = ChildProcess(pid: process.processIdentifier, stderrPath: stderrPath)
        let early = box.withLock { slot -> Bool in
            slot = child
            return !process.isRunning
        }
        if early { child.terminated(process.terminationStatus) }
        let fd = dup(stdout.fileHandleForReading.fileDescriptor)
        try? stdout.fileHandleForReading.close()
        let reader = Thread { child.readLoop(fd: fd) }
        reader.start()
        return child
    }

    private func terminated(_ status: Int32) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.status == nil else { return [] }
            s.status = status
            defer { s.exitWaiters = [] }
            return s.exitWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Reads stdout on its own thread, with a short poll so a pipe whose write end leaked into
    /// a grandchild is still finished once this child exits.
    private func readLoop(fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 20)
            if ready < 0 && errno == EINTR { continue }
            let exited = state.withLock { $0.status != nil }
            guard ready > 0 || exited else { continue }
            if exited && ready == 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                state.withLock { s in
                    for byte in buffer[0..<n] {
                        if byte == UInt8(ascii: "\n") {
                            s.lines.append(String(decoding: s.partial, as: UTF8.self))
                            s.partial.removeAll(keepingCapacity: true)
                        } else {
                            s.partial.append(byte)
                        }
                    }
                }
                continue
            }
            if n < 0 && (errno == EINTR || (errno == EAGAIN && !exited)) { continue }
            break
        }
        state.withLock { $0.stdoutClosed = true }
    }

    /// The complete lines printed so far.
    var lines: [String] { state.withLock { $0.lines } }
    /// Whether the child exited with status 0.
    var exitedCleanly: Bool { state.withLock { $0.status == 0 } }
    /// What the child printed on stderr.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until the printed lines satisfy `condition`; fails early when the child ends first.
    func waitForLines(_ what: String, limit: Duration = .seconds(30), _ condition: ([String]) -> Bool) async throws {
        try await PostgresTest.waitUntil(what, limit: limit) {
            let (lines, finished) = state.withLock { ($0.lines, $0.stdoutClosed) }
            if condition(lines) { return true }
            if finished { throw PostgresTest.TimedOut(what: "\(what): the child exited after \(lines.count) lines; stderr: \(stderr)") }
            return false
        }
    }

    /// Waits up to `limit` for the child to exit by itself (killing it otherwise) and for its
    /// output to be read. Returns whether it exited by itself.
    @discardableResult
    func waitForExit(limit: Duration = .seconds(60)) async throws -> Bool {
        let exited = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.exit(); return true }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next()!
            if !first { _ = Glibc.kill(self.pid, SIGKILL) }
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        try await PostgresTest.waitUntil("the child's stdout to be drained") { state.withLock { $0.stdoutClosed } }
        return exited
    }

    /// Kills the child and waits for it.
    func kill() async throws {
        if state.withLock({ $0.status == nil }) { _ = Glibc.kill(pid, SIGKILL) }
        try await waitForExit(limit: .seconds(20))
    }

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

    /// Runs a command to its end (killed after `limit`) and returns its status, stdout and
    /// stderr. Output goes to files, so that daemons it starts cannot hold a pipe open.
    static func run(_ executable: String, _ arguments: [String], limit: Duration = .seconds(120)) async throws -> (status: Int32, output: String, errors: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("strata-run-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let quoted = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "\(quoted) >'\(base).out' 2>'\(base).err' </dev/null"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
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
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return (status, output, errors)
    }
}
