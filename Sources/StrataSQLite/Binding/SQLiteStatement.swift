import CSQLite
import Foundation
import Strata

/// A prepared statement: bind parameters (1-based), step until it returns false, reset.
/// Owned by the thread that owns its connection.
package final class SQLiteStatement: @unchecked Sendable {
    // Safe to share under the same rule as its connection: one thread at a time.
    private let statement: OpaquePointer
    /// Kept for error messages; the connection itself is not retained (its cache holds its
    /// statements, and `sqlite3_close_v2` waits for statements a caller still holds).
    private let db: OpaquePointer
    private let path: String
    let sql: String

    /// Tells SQLite to copy bound bytes (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.statement = statement
        self.db = connection.handle
        self.path = connection.path
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    // MARK: - Binding

    package func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement, index, value) }

    /// Binds an unsigned number by its bit pattern (positions and revisions fit in 63 bits in practice).
    package func bind(_ index: Int32, _ value: UInt64) { sqlite3_bind_int64(statement, index, Int64(bitPattern: value)) }

    package func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(statement, index, Int64(value)) }

    package func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(statement, index, value) }

    /// Binds text by its UTF-8 bytes (interior NUL characters included).
    package func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite3_bind_text(statement, index, $0, Int32(bytes.count), SQLiteStatement.transient)
                }
            } else {
                _ = sqlite3_bind_text(statement, index, "", 0, SQLiteStatement.transient)
            }
        }
    }

    /// Binds bytes as a BLOB; empty data binds an empty BLOB, not NULL.
    package func bind(_ index: Int32, _ value: Data) {
        if value.isEmpty {
            sqlite3_bind_zeroblob(statement, index, 0)
            return
        }
        value.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), SQLiteStatement.transient)
        }
    }

    /// Binds bytes, or NULL for `nil`.
    package func bind(_ index: Int32, _ value: Data?) {
        if let value { bind(index, value) } else { bindNull(index) }
    }

    /// Binds a UUID as its 16 bytes.
    package func bind(_ index: Int32, _ value: UUID) {
        withUnsafeBytes(of: value.uuid) { raw in
            _ = sqlite3_bind_blob(statement, index, raw.baseAddress, 16, SQLiteStatement.transient)
        }
    }

    package func bindNull(_ index: Int32) { sqlite3_bind_null(statement, index) }

    /// Binds a dynamically typed value.
    package func bind(_ index: Int32, _ value: SQLiteValue) {
        switch value {
        case .null: bindNull(index)
        case .integer(let n): bind(index, n)
        case .real(let d): bind(index, d)
        case .text(let s): bind(index, s)
        case .blob(let b): bind(index, b)
        }
    }

    /// The number of parameters the statement takes.
    package var parameterCount: Int { Int(sqlite3_bind_parameter_count(statement)) }

    // MARK: - Stepping

    /// Advances; true when a row is available, false when the statement is done.
    @discardableResult
    package func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw SQLiteError(code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)), operation: sql, path: path)
        }
    }

    /// Makes the statement ready to run again and clears its bindings.
    package func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    // MARK: - Columns (0-based)

    package var columnCount: Int32 { sqlite3_column_count(statement) }

    package func columnName(_ column: Int32) -> String { String(cString: sqlite3_column_name(statement, column)) }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    package func uint64(_ column: Int32) -> UInt64 { UInt64(bitPattern: sqlite3_column_int64(statement, column)) }

    package func double(_ column: Int32) -> Double { sqlite3_column_double(statement, column) }

    /// Text decoded as UTF-8 (empty for NULL).
    package func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// Whether a text column holds exactly these UTF-8 bytes (compared without making a String).
    package func textEquals(_ column: Int32, _ expected: StaticString) -> Bool {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count == expected.utf8CodeUnitCount, let pointer = sqlite3_column_text(statement, column) else { return false }
        return memcmp(pointer, expected.utf8Start, count) == 0
    }

    /// The bytes of a BLOB (empty for NULL or an empty BLOB).
    package func data(_ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: pointer, count: count)
    }

    /// The bytes of a BLOB, `nil` for NULL.
    package func optionalData(_ column: Int32) -> Data? {
        isNull(column) ? nil : data(column)
    }

    /// A 16-byte BLOB as a UUID, `nil` when the column holds something else.
    package func uuid(_ column: Int32) -> UUID? {
        guard sqlite3_column_bytes(statement, column) == 16, let pointer = sqlite3_column_blob(statement, column) else { return nil }
        return UUID(uuid: pointer.loadUnaligned(as: uuid_t.self))
    }

    /// The column as a dynamically typed value.
    package func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: .integer(int64(column))
        case SQLITE_FLOAT: .real(double(column))
        case SQLITE_TEXT: .text(text(column))
        case SQLITE_BLOB: .blob(data(column))
        default: .null
        }
    }
}
