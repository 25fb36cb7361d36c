import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataLog
import StrataSQLite

/// `strata backup --to DIR`: a consistent, incremental backup of a live `file:` store.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a file: store into a folder while writers keep running; a later run into the same folder copies only what changed.",
        discussion: """
            The folder holds a copy of the store and a BACKUP manifest written last (docs/FORMAT.md, \
            "Backup"): a backup killed midway has no manifest, and restore and verify refuse it. \
            Prints one line: the head position, the files, and the bytes copied and reused. \
            A sqlite: store is copied with SQLite's online backup API into the file DIR names \
            (written as DIR.tmp, checked, renamed). PostgreSQL and JetStream: docs/OPERATIONS.md.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The backup folder (created when missing).", valueName: "DIR"))
    var to: String

    func run() async throws {
        let url = try global.storeURL()
        if url.backend == .sqlite, let path = url.path {
            guard url.exists else { throw CommandFailure.noStore(path: path) }
            let report = try SQLiteBackup.backup(path: path, to: to)
            StandardOutput.stdout.writeLine("backed up \(path) to \(to): head position \(report.headPosition), \(report.bytes) bytes (SQLite online backup)")
            StandardOutput.stdout.flush()
            return
        }
        guard url.backend == .file, let path = url.path else {
            throw CommandFailure.notApplicable("backup copies file: and sqlite: stores; \(url) is not one (docs/OPERATIONS.md has the others)")
        }
        guard url.exists else { throw CommandFailure.noStore(path: path) }
        let report = try await LogBackup.backup(directory: path, to: to)
        StandardOutput.stdout.writeLine("backed up \(path) to \(to): head position \(report.headPosition), \(report.files) files, \(report.bytesCopied) bytes copied, \(report.bytesReused) bytes reused")
        StandardOutput.stdout.flush()
    }
}

/// `strata restore DIR --to PATH`: a store identical to the backed-up one.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup folder into a new file: store with the same positions, ids, revisions, times and metadata.",
        discussion: """
            Refuses a folder that is not a complete backup, or a file whose size or CRC32C differs from \
            the BACKUP manifest (naming it), before writing anything. PATH must not exist or be empty.
            """
    )

    @Argument(help: ArgumentHelp("The backup folder.", valueName: "DIR"))
    var backup: String

    @Option(help: ArgumentHelp("Where the restored store goes (a new or empty directory).", valueName: "PATH"))
    var to: String

    func run() async throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: backup, isDirectory: &isDirectory), !isDirectory.boolValue {
            // A file: a SQLite backup.
            let report = try SQLiteBackup.restore(backup: backup, to: to)
            StandardOutput.stdout.writeLine("restored \(backup) to \(to): head position \(report.headPosition), \(report.bytes) bytes")
            StandardOutput.stdout.flush()
            return
        }
        let report = try await LogBackup.restore(backup: backup, to: to)
        StandardOutput.stdout.writeLine("restored \(backup) to \(to): head position \(report.headPosition), \(report.files) files, \(report.bytesCopied) bytes")
        StandardOutput.stdout.flush()
    }
}
