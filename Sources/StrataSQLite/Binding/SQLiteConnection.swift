import CSQLite
import Foundation
import Strata

/// A thin wrapper over one SQLite connection through the C API: open, run SQL, prepared
/// statements (with a per-connection cache), errors as ``SQLiteError``. The one SQLite binding
/// of the package: the backend and the benchmark's raw baseline both use it.
///
/// A connection is opened with `SQLITE_OPEN_NOMUTEX`, so it must be used by one thread at a time.
package final class SQLiteConnection: @unchecked Sendable {
    // Safe to share: every owner (the writer thread, a reader borrowed from the pool, the
    // checkpoint store's current turn) uses a connection from one thread at a time, and hands it
    // over through a lock or a continuation, which orders the accesses.
    package let path: String
    let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    private var isClosed = false

    /// Process-wide settings, applied once before the first connection opens: without memory
    /// statistics, SQLite's allocator takes no global mutex.
    private static let configured: Bool = strata_sqlite3_disable_memory_statistics() == SQLITE_OK

    /// Opens (creating when missing, unless `readOnly`) a database file.
    package init(path: String, readOnly: Bool = false) throws {
        _ = SQLiteConnection.configured
        self.path = path
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(handle)
            throw SQLiteError(code: rc, message: message, operation: "open", path: path)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { close() }

    /// Finalizes the cached statements and closes the connection (the last connection to close
    /// checkpoints the WAL into the database file). The connection must not be used afterwards.
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs SQL without results; several statements separated by `;` are allowed.
    package func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: text, operation: sql, path: path)
        }
    }

    /// Compiles one statement the caller owns.
    /// - Throws: ``SQLiteError`` for invalid SQL, or for text holding more than one statement.
    package func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        var extra = ""
        let rc = sql.withCString { text -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v2(handle, text, -1, &statement, &tail)
            if rc == SQLITE_OK, let tail { extra = String(cString: tail) }
            return rc
        }
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: lastError, operation: "prepare \(sql)", path: path)
        }
        let compiled = SQLiteStatement(statement, connection: self, sql: sql)
        if extra.contains(where: { !$0.isWhitespace && $0 != ";" }) {
            throw SQLiteError(code: SQLITE_MISUSE, message: "one SQL statement at a time; the text goes on with \"\(extra.prefix(40))\"",
                              operation: "prepare \(sql)", path: path)
        }
        return compiled
    }

    /// A statement compiled once per connection and kept; the caller resets it after use
    /// (``SQLiteStatement/reset()``), normally with `defer`. The cache holds at most
    /// ``maxCachedStatements`` (it starts over when full, for callers that vary their SQL text).
    package func cached(_ sql: String) throws -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        let statement = try prepare(sql)
        if statements.count >= SQLiteConnection.maxCachedStatements { statements.removeAll() }
        statements[sql] = statement
        return statement
    }

    /// The most statements one connection keeps compiled.
    package static let maxCachedStatements = 256

    /// Runs one statement of the cache that returns no rows, with parameters bound by `bind`.
    package func run(_ sql: String, _ bind: (SQLiteStatement) -> Void = { _ in }) throws {
        let statement = try cached(sql)
        defer { statement.reset() }
        bind(statement)
        try statement.step()
    }

    /// The first column of the first row of a cached statement as an integer (0 without rows).
    package func integer(_ sql: String, _ bind: (SQLiteStatement) -> Void = { _ in }) throws -> Int64 {
        let statement = try cached(sql)
        defer { statement.reset() }
        bind(statement)
        return try statement.step() ? statement.int64(0) : 0
    }

    /// How long a statement waits for another connection's lock before failing with
    /// `SQLITE_BUSY` (0: fail at once).
    package func setBusyTimeout(milliseconds: Int) {
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
    }

    /// Whether a transaction is open on this connection.
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last inserted row.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The message of the last failure.
    package var lastError: String { String(cString: sqlite3_errmsg(handle)) }

    /// Rolls back an open transaction, ignoring errors (used on paths that already fail).
    package func rollbackQuietly() {
        if isInTransaction { _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }

    /// The version of the linked SQLite library.
    package static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// A failed SQLite call, with its extended result code.
package struct SQLiteError: Error, CustomStringConvertible {
    /// The extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE` …).
    package let code: Int32
    /// SQLite's message.
    package let message: String
    /// What was being done (the SQL, or `open`).
    package let operation: String
    /// The database file.
    package let path: String

    /// The database is locked by another connection (after the busy timeout, if any).
    package var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
    /// A UNIQUE or PRIMARY KEY constraint failed.
    /// (`SQLITE_CONSTRAINT_UNIQUE` and `SQLITE_CONSTRAINT_PRIMARYKEY`, macros Swift does not import.)
    package var isUniqueViolation: Bool { code == SQLITE_CONSTRAINT | (8 << 8) || code == SQLITE_CONSTRAINT | (6 << 8) }
    /// The file is not a SQLite database.
    package var isNotADatabase: Bool { code & 0xFF == SQLITE_NOTADB }

    package var description: String { "\(operation) failed for \(path): \(message) (SQLite code \(code))" }

    /// The same failure as a ``StrataError``: `unsupportedFormat` for a file that is not a
    /// database, `io` otherwise.
    package var strataError: StrataError {
        if isNotADatabase {
            return .unsupportedFormat(path: path, found: "not a SQLite database", supported: "a SQLite database with Strata schema v\(SQLiteSchema.version)")
        }
        return .io(path: path, operation: "sqlite \(operation)", reason: "\(message) (SQLite code \(code))")
    }

    /// Runs `body`, turning a ``SQLiteError`` into a ``StrataError``.
    package static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw error.strataError
        }
    }
}
