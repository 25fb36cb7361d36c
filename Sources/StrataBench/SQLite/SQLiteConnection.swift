import CSQLite
import Foundation
import Strata

/// A thin wrapper over the SQLite C API: one connection, prepared statements, errors as
/// ``StrataError/io(path:operation:reason:)``.
final class SQLiteConnection {
    let path: String
    private(set) var handle: OpaquePointer?

    /// Opens (creating when missing) a database file.
    init(path: String) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        if rc != SQLITE_OK {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            sqlite3_close(handle)
            throw StrataError.io(path: path, operation: "sqlite3_open_v2", reason: reason)
        }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs SQL without results (several statements allowed).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let reason = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw StrataError.io(path: path, operation: "sqlite3_exec(\(sql))", reason: reason)
        }
    }

    /// Compiles a statement.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw StrataError.io(path: path, operation: "sqlite3_prepare_v2(\(sql))", reason: lastError)
        }
        return SQLiteStatement(statement, connection: self)
    }

    var lastError: String { String(cString: sqlite3_errmsg(handle)) }
}

/// A prepared statement. Bind, step until it returns false, reset.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private let connection: SQLiteConnection

    /// Tells SQLite to copy bound bytes (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(statement) }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement, index, value) }

    func bind(_ index: Int32, _ value: String) {
        sqlite3_bind_text(statement, index, value, -1, SQLiteStatement.transient)
    }

    func bind(_ index: Int32, _ value: Data) {
        value.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), SQLiteStatement.transient)
        }
    }

    func bind(_ index: Int32, _ value: UUID) {
        withUnsafeBytes(of: value.uuid) { raw in
            _ = sqlite3_bind_blob(statement, index, raw.baseAddress, 16, SQLiteStatement.transient)
        }
    }

    func bindNull(_ index: Int32) { sqlite3_bind_null(statement, index) }

    /// Advances; true when a row is available.
    @discardableResult
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StrataError.io(path: connection.path, operation: "sqlite3_step", reason: connection.lastError)
        }
    }

    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }

    func data(_ column: Int32) -> Data? {
        guard let pointer = sqlite3_column_blob(statement, column) else { return nil }
        return Data(bytes: pointer, count: Int(sqlite3_column_bytes(statement, column)))
    }

    func uuid(_ column: Int32) -> UUID {
        guard let pointer = sqlite3_column_blob(statement, column), sqlite3_column_bytes(statement, column) == 16 else { return UUID() }
        let b = pointer.assumingMemoryBound(to: UInt8.self)
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
