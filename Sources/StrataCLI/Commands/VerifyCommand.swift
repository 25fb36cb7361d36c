import ArgumentParser
import Strata
import StrataCommandLine
import StrataLog
import StrataSQLite

/// `strata verify`: checks every record of a file store.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every segment and record of a file: store.",
        discussion: """
            Prints a summary line when the store is intact. When corruption is found, prints one line per
            problem on stdout, `path:offset: reason`, and exits with status 1. Shows a progress bar on
            stderr when stderr is a terminal and the store holds more than 64 MiB.
            """
    )

    /// Stores smaller than this verify too fast for a progress bar to help.
    static let progressThreshold: Int64 = 64 << 20

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let url = try global.storeURL()
        if url.backend == .sqlite, let path = url.path {
            guard url.exists else { throw CommandFailure.noStore(path: path) }
            let report = try SQLiteBackup.verify(backup: path)
            StandardOutput.stdout.writeLine("ok: SQLite integrity_check passed, head position \(report.headPosition), \(report.bytes) bytes")
            StandardOutput.stdout.flush()
            return
        }
        guard url.backend == .file, let path = url.path else {
            throw CommandFailure.notApplicable("verify checks file: stores; \(url) has nothing on disk")
        }
        guard url.exists else { throw CommandFailure.noStore(path: path) }
        // A backup folder: its BACKUP manifest (every file's size and CRC32C) is checked first.
        if LogBackup.isBackup(path) {
            let manifest = try LogBackup.verify(backup: path)
            StandardOutput.stdout.writeLine("backup: complete, head position \(manifest.headPosition), \(manifest.files.count) files match BACKUP (taken \(manifest.createdAt))")
        }
        let bar: ProgressBar? = StandardOutput.stderr.isTerminal ? ProgressBar(label: "verifying") : nil
        let report = try StoreURL.verifyLog(directory: path) { done, total in
            if total >= VerifyCommand.progressThreshold { bar?.update(done: done, total: total) }
        }
        bar?.finish()
        for problem in report.problems {
            StandardOutput.stdout.writeLine("\(problem.path):\(problem.offset): \(problem.reason)")
        }
        if report.problems.isEmpty {
            StandardOutput.stdout.writeLine("ok: \(report.segments) segment\(report.segments == 1 ? "" : "s"), \(report.events) events, \(report.bytes) bytes")
        }
        StandardOutput.stdout.flush()
        if !report.problems.isEmpty {
            throw CommandFailure.problemsFound(count: report.problems.count, path: path)
        }
    }
}

/// What `verify` found, independent of the engine's types.
struct VerifyOutcome {
    struct Problem {
        let path: String
        let offset: Int64
        let reason: String
    }

    let segments: Int
    let events: UInt64
    let bytes: Int64
    let problems: [Problem]
}
