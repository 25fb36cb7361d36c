import CSQLite
import Foundation
import Strata
import StrataStorage

/// Backups of a SQLite store through SQLite's online backup API: a consistent snapshot taken
/// while writers keep running (in this or other processes), written to `FILE.tmp`, checked,
/// fsynced and renamed to `FILE`: a backup killed midway leaves only the `.tmp`, which restore
/// never reads (docs/OPERATIONS.md).
///
/// ```swift
/// let head = try SQLiteBackup.backup(path: "events.db", to: "/backups/events.db")
/// try SQLiteBackup.restore(backup: "/backups/events.db", to: "restored.db")
/// ```
public enum SQLiteBackup {
    /// What a backup or restore did.
    public struct Report: Sendable {
        /// The position of the last event in the copy.
        public let headPosition: UInt64
        /// The copy's size in bytes.
        public let bytes: Int64
    }

    /// Backs up the store at `path` into the file `backupPath` (replaced when it exists).
    /// - Throws: ``Strata/StrataError`` when the source is not a Strata SQLite store or a file
    ///   operation fails.
    @discardableResult
    public static func backup(path: String, to backupPath: String) throws -> Report {
        let temporary = backupPath + ".tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try SQLiteError.mapped {
            let source = try SQLiteConnection(path: path, readOnly: true)
            defer { source.close() }
            let target = try SQLiteConnection(path: temporary)
            defer { target.close() }
            guard let backup = sqlite3_backup_init(target.handle, "main", source.handle, "main") else {
                throw SQLiteError(code: sqlite3_extended_errcode(target.handle), message: String(cString: sqlite3_errmsg(target.handle)),
                                  operation: "backup", path: backupPath)
            }
            // All pages in one step: a consistent snapshot of the source at one moment (a read
            // transaction), however much is written meanwhile.
            var rc = sqlite3_backup_step(backup, -1)
            var attempts = 0
            while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempts < 200 {
                attempts += 1
                usleep(10_000)
                rc = sqlite3_backup_step(backup, -1)
            }
            let finish = sqlite3_backup_finish(backup)
            guard rc == SQLITE_DONE, finish == SQLITE_OK else {
                throw SQLiteError(code: rc == SQLITE_DONE ? finish : rc, message: String(cString: sqlite3_errstr(rc == SQLITE_DONE ? finish : rc)),
                                  operation: "backup", path: backupPath)
            }
            // One file, no WAL: the copy stands alone.
            try target.execute("PRAGMA journal_mode=DELETE")
        }
        let report = try check(temporary)
        try sync(temporary)
        guard rename(temporary, backupPath) == 0 else {
            throw StrataError.io(path: backupPath, operation: "rename", reason: String(cString: strerror(errno)))
        }
        try syncDirectory(of: backupPath)
        return report
    }

    /// Checks a backup file: a SQLite database that passes `PRAGMA integrity_check` and holds a
    /// Strata schema; returns its head.
    /// - Throws: ``Strata/StrataError/invalidArgument(_:)`` for a missing file,
    ///   ``Strata/StrataError/corruption(path:offset:reason:)`` for a damaged one.
    @discardableResult
    public static func verify(backup: String) throws -> Report {
        guard FileManager.default.fileExists(atPath: backup) else {
            throw StrataError.invalidArgument("no backup at \(backup)" + (FileManager.default.fileExists(atPath: backup + ".tmp")
                ? " (only \(backup).tmp: an interrupted backup; run the backup again)" : ""))
        }
        return try check(backup)
    }

    /// Restores the backup file into `path`, which must not exist.
    public static func restore(backup: String, to path: String) throws -> Report {
        let report = try verify(backup: backup)
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StrataError.invalidArgument("\(path) exists: restore into a new file")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = path + ".tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try FileManager.default.copyItem(atPath: backup, toPath: temporary)
        } catch {
            throw StrataError.io(path: path, operation: "copy", reason: error.localizedDescription)
        }
        try sync(temporary)
        guard rename(temporary, path) == 0 else {
            throw StrataError.io(path: path, operation: "rename", reason: String(cString: strerror(errno)))
        }
        try syncDirectory(of: path)
        return report
    }

    /// Integrity check, schema and head of a database file.
    static func check(_ path: String) throws -> Report {
        let head: UInt64 = try SQLiteError.mapped {
            let db = try SQLiteConnection(path: path, readOnly: true)
            defer { db.close() }
            let integrity = try db.prepare("PRAGMA integrity_check")
            var problems: [String] = []
            while try integrity.step() { problems.append(integrity.text(0)) }
            guard problems == ["ok"] else {
                throw StrataError.corruption(path: path, offset: 0, reason: "integrity_check: " + problems.prefix(3).joined(separator: "; "))
            }
            let head = try db.prepare("SELECT coalesce(max(position), 0) FROM strata_events")
            guard try head.step() else { return 0 }
            return UInt64(head.int64(0))
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        return Report(headPosition: head, bytes: bytes)
    }

    static func sync(_ path: String) throws {
        do {
            let file = try POSIXFileSystem().open(path, mode: .readOnly)
            defer { file.close() }
            try file.sync()
        } catch { throw StrataError(error) }
    }

    static func syncDirectory(of path: String) throws {
        do { try POSIXFileSystem().syncDirectory(POSIXFileSystem.parent(of: path)) } catch { throw StrataError(error) }
    }
}
