import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process of a test: started with arguments and an environment, its stdout read as
/// lines by a thread of its own (never by a test's thread), its stderr kept in a file, signals,
/// and bounded waits for lines and for its exit.
///
/// No child outlives the handle: when the last reference to a ``ChildProcess`` goes away while
/// the process still runs (a test failed or threw before ending it), the process gets SIGKILL.
/// End a child explicitly with ``waitForExit(timeout:)``, ``stop(grace:)`` or ``kill()``; a
/// test that only needs the child running keeps its handle alive until then.
///
/// ```swift
/// let server = try ChildProcess.start(strata, ["serve", "--store", "memory:", "--port", "0"])
/// let listening = try await server.firstLine(startingWith: "listening ")
/// …
/// #expect(try await server.stop(grace: .seconds(30)))
/// ```
public final class ChildProcess: Sendable, CustomStringConvertible {
    /// A child ended before printing what a wait expected.
    public struct ExitedEarly: Error, CustomStringConvertible {
        /// What the wait expected.
        public let what: String
        /// The child, as `executable arguments…`.
        public let command: String
        /// The exit status (the signal's number for a signalled child).
        public let status: Int32?
        /// How many lines it printed.
        public let lines: Int
        /// What it printed on stderr.
        public let stderr: String

        /// One line naming the child, its status and its stderr.
        public var description: String {
            "\(command) exited (status \(status.map(String.init) ?? "?")) after \(lines) lines, before \(what); stderr: \(stderr)"
        }
    }

    /// The process id.
    public let pid: Int32
    /// The executable's path.
    public let executable: String
    /// The arguments it was started with.
    public let arguments: [String]

    private let output: Output
    private let process: Process
    private let stderrPath: String
    private let stdinPath: String?

    private init(process: Process, output: Output, executable: String, arguments: [String], stderrPath: String, stdinPath: String?) {
        self.process = process
        self.pid = process.processIdentifier
        self.output = output
        self.executable = executable
        self.arguments = arguments
        self.stderrPath = stderrPath
        self.stdinPath = stdinPath
    }

    deinit {
        // The teardown fallback: a child whose test did not end it dies with its handle.
        if output.status == nil { _ = systemKill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: stderrPath)
        if let stdinPath { try? FileManager.default.removeItem(atPath: stdinPath) }
    }

    /// Starts `executable arguments`.
    /// - Parameters:
    ///   - environment: the child's whole environment; nil inherits this process's.
    ///   - directory: the child's working directory; nil inherits this process's.
    ///   - stdin: what the child reads on stdin; nil gives it /dev/null.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             directory: String? = nil, stdin: String? = nil) throws -> ChildProcess {
        let stdout = Pipe()
        let stderrPath = TemporaryDirectory.freshPath("child-stderr")
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        defer { try? stderr.close() }
        var stdinPath: String?
        var input = FileHandle.nullDevice
        if let stdin {
            let path = TemporaryDirectory.freshPath("child-stdin")
            _ = FileManager.default.createFile(atPath: path, contents: Data(stdin.utf8))
            stdinPath = path
            input = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        }
        defer { if stdin != nil { try? input.close() } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory, isDirectory: true) }
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input
        let output = Output()
        process.terminationHandler = { ended in
            output.terminated(status: ended.terminationStatus, signalled: ended.terminationReason == .uncaughtSignal)
        }
        do {
            try process.run()
        } catch {
            try? FileManager.default.removeItem(atPath: stderrPath)
            if let stdinPath { try? FileManager.default.removeItem(atPath: stdinPath) }
            throw error
        }
        try? stdout.fileHandleForWriting.close()
        let fd = dup(stdout.fileHandleForReading.fileDescriptor)
        try? stdout.fileHandleForReading.close()
        let reader = Thread { output.readLoop(fd: fd) }
        reader.name = "child-stdout-\(process.processIdentifier)"
        reader.start()
        return ChildProcess(process: process, output: output, executable: executable, arguments: arguments,
                            stderrPath: stderrPath, stdinPath: stdinPath)
    }

    /// `executable arguments…`, for messages.
    public var description: String { ([(executable as NSString).lastPathComponent] + arguments).joined(separator: " ") }

    /// The complete lines printed on stdout so far.
    public var lines: [String] { output.lines }
    /// Everything printed on stdout so far, as text (a last line without its newline included).
    public var stdout: String { output.text }
    /// Whether stdout reached its end: the child exited and everything it printed was read.
    public var outputFinished: Bool { output.finished }
    /// The exit status once the child has ended (for a signalled child: the signal's number).
    public var status: Int32? { output.status }
    /// Whether the child ended through a signal.
    public var wasSignalled: Bool { output.signalled }
    /// Whether the child still runs (its end was not observed yet).
    public var isRunning: Bool { output.status == nil }
    /// Whether the child exited by itself with status 0.
    public var exitedCleanly: Bool { output.status == 0 && !output.signalled }
    /// What the child printed on stderr so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits until the lines printed so far satisfy `condition`.
    /// - Throws: ``ExitedEarly`` when the child ended (and its output was read) first;
    ///   ``TimedOut`` after `timeout`.
    public func waitForLines(_ what: String, timeout: Duration = .seconds(30), _ condition: ([String]) -> Bool) async throws {
        try await Wait.until("\(what) from \(self)", timeout: timeout) {
            let (lines, finished) = output.linesAndFinished
            if condition(lines) { return true }
            if finished {
                throw ExitedEarly(what: what, command: description, status: status, lines: lines.count, stderr: stderr)
            }
            return false
        }
    }

    /// The first line that starts with `prefix`, once the child printed it.
    public func firstLine(startingWith prefix: String, timeout: Duration = .seconds(30)) async throws -> String {
        try await waitForLines("a line starting with \"\(prefix)\"", timeout: timeout) { $0.contains { $0.hasPrefix(prefix) } }
        return lines.first { $0.hasPrefix(prefix) }!
    }

    /// Sends `signal` (e.g. SIGTERM) when the child still runs.
    public func signal(_ signal: Int32) {
        if isRunning { _ = systemKill(pid, signal) }
    }

    /// Waits up to `timeout` for the child to exit by itself, sends SIGKILL when it does not, and
    /// waits until it is gone and its output read. Returns whether it exited by itself.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Bool {
        let exitedByItself = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.output.exited(); return true }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next()!
            if !first { _ = systemKill(self.pid, SIGKILL) } // the exit task then finishes too
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        try await Wait.until("the stdout of \(self) to be read to its end", timeout: .seconds(20)) { output.finished }
        return exitedByItself
    }

    /// Sends SIGTERM, waits up to `grace` for the child to exit, then SIGKILL. Returns whether it
    /// ended within the grace period.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async throws -> Bool {
        signal(SIGTERM)
        return try await waitForExit(timeout: grace)
    }

    /// Sends SIGKILL (when the child still runs) and waits until it is gone and its output read.
    public func kill() async throws {
        signal(SIGKILL)
        try await waitForExit(timeout: .seconds(20))
    }

    /// Runs `executable arguments` to its end and returns its status and output; a child still
    /// running after `timeout` gets SIGKILL (``Outcome/timedOut`` tells).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil, stdin: String? = nil, timeout: Duration = .seconds(120)) async throws -> Outcome {
        let child = try start(executable, arguments, environment: environment, directory: directory, stdin: stdin)
        let exited = try await child.waitForExit(timeout: timeout)
        return Outcome(status: child.status ?? -1, stdout: child.stdout, stderr: child.stderr, timedOut: !exited)
    }

    /// What a child run to its end by ``run(_:_:environment:directory:stdin:timeout:)`` left.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The exit status (the signal's number for a signalled child).
        public let status: Int32
        /// Everything it printed on stdout.
        public let stdout: String
        /// Everything it printed on stderr.
        public let stderr: String
        /// Whether it was killed for running longer than its timeout.
        public let timedOut: Bool

        /// The non-empty lines of stdout.
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// The non-empty lines of stderr.
        public var errorLines: [String] { stderr.split(separator: "\n").map(String.init) }

        /// Status, stdout and stderr, for messages.
        public var description: String { "status \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }
    }
}

/// What the reader thread and the termination handler share with the handle (they must not
/// keep the handle itself alive: its end is the teardown fallback).
private final class Output: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var lines: [String] = []
        var lineStart = 0
        var finished = false
        var status: Int32?
        var signalled = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var lines: [String] { state.withLock { $0.lines } }
    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    var finished: Bool { state.withLock { $0.finished } }
    var linesAndFinished: ([String], Bool) { state.withLock { ($0.lines, $0.finished) } }
    var status: Int32? { state.withLock { $0.status } }
    var signalled: Bool { state.withLock { $0.signalled } }

    func terminated(status: Int32, signalled: Bool) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.status == nil else { return [] }
            s.status = status
            s.signalled = signalled
            defer { s.exitWaiters = [] }
            return s.exitWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Suspends until the termination handler has run.
    func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.status != nil { return true }
                s.exitWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Reads stdout until its end. Polls with a short timeout, so that a pipe whose write end
    /// leaked into a grandchild (and so never reports its end) is still drained and finished
    /// once the child itself has exited.
    func readLoop(fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 20)
            if ready < 0 && errno == EINTR { continue }
            let exited = state.withLock { $0.status != nil }
            guard ready > 0 || exited else { continue }
            // Everything the child wrote is in the pipe once it has exited: drain without blocking.
            if exited && ready == 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received(buffer[0..<n])
                continue
            }
            if n < 0 && (errno == EINTR || (errno == EAGAIN && !exited)) { continue }
            break // the end, or drained after the exit
        }
        state.withLock { $0.finished = true }
    }

    private func received(_ chunk: ArraySlice<UInt8>) {
        state.withLock { s in
            s.bytes += chunk
            var index = s.bytes.count - chunk.count
            while let newline = s.bytes[index...].firstIndex(of: UInt8(ascii: "\n")) {
                s.lines.append(String(decoding: s.bytes[s.lineStart..<newline], as: UTF8.self))
                s.lineStart = newline + 1
                index = newline + 1
            }
        }
    }
}

/// `kill(2)`, out of the way of ``ChildProcess/kill()``.
private func systemKill(_ pid: Int32, _ signal: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.kill(pid, signal)
    #else
    Darwin.kill(pid, signal)
    #endif
}
