import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A running `StrataSQLiteTestWriter` child process. It writes its report to a file, which the
/// test reads after the child exited, so no thread of the test reads a pipe while it runs.
final class ChildWriter: Sendable {
    /// The executable: `STRATA_SQLITE_TEST_WRITER`, or `StrataSQLiteTestWriter` next to the tests.
    static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["STRATA_SQLITE_TEST_WRITER"] { return path }
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(), URL(fileURLWithPath: Bundle.main.bundlePath)]
        if let path = Bundle.main.executablePath { starts.append(URL(fileURLWithPath: path)) }
        for start in starts {
            var directory = start
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("StrataSQLiteTestWriter").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                directory = directory.deletingLastPathComponent()
            }
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/StrataSQLiteTestWriter"
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }()

    let pid: Int32
    let output: String
    private let stderrPath: String
    private let ended: AsyncStream<Int32>

    private init(pid: Int32, output: String, stderrPath: String, ended: AsyncStream<Int32>) {
        self.pid = pid
        self.output = output
        self.stderrPath = stderrPath
        self.ended = ended
    }

    /// Starts `StrataSQLiteTestWriter ARGUMENTS --out OUTPUT`.
    static func start(_ arguments: [String], output: String) throws -> ChildWriter {
        let binary = try #require(executable, "StrataSQLiteTestWriter not found next to the tests; build with --build-tests")
        let stderrPath = output + ".stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--out", output]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        let (ended, ending) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        process.terminationHandler = { p in
            ending.yield(p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus)
            ending.finish()
        }
        try process.run()
        return ChildWriter(pid: process.processIdentifier, output: output, stderrPath: stderrPath, ended: ended)
    }

    /// Waits for the exit status (128 + the signal for a killed child); kills the child when it
    /// runs longer than `limit`.
    func waitForExit(limit: Duration) async -> Int32 {
        let pid = self.pid
        let watchdog = Task {
            try await Task.sleep(for: limit)
            _ = Glibc.kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }
        var status: Int32 = -1
        for await s in ended { status = s }
        return status
    }

    /// The lines of the report.
    var lines: [String] {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// What the child printed on stderr.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
