import Foundation
import Strata

/// The open transaction of ``SQLiteCheckpointStore/commit(consumer:through:_:)``: SQL run through
/// it commits together with the consumer's checkpoint, or not at all.
///
/// ```swift
/// try await checkpoints.commit(consumer: "totals", through: event.position) { tx in
///     try tx.execute("INSERT INTO totals(customer, amount) VALUES (?, ?) ON CONFLICT(customer) DO UPDATE SET amount = amount + excluded.amount",
///                    [.text(customer), .integer(amount)])
/// }
/// ```
///
/// Use it only inside the `commit` closure that received it, from that task; it refuses work
/// once the closure has returned. The store owns the transaction: `BEGIN`, `COMMIT`, `END` and
/// `ROLLBACK` are refused (savepoints, `ROLLBACK TO` and `RELEASE` work as nested scopes).
public final class SQLiteTransaction {
    private let db: SQLiteConnection
    private var isOpen = true

    init(db: SQLiteConnection) { self.db = db }

    /// Runs one statement that returns no rows, with `?` parameters bound in order, and
    /// returns the number of rows it changed.
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when SQLite fails (for example a
    ///   constraint), ``StrataError/invalidArgument(_:)`` for a wrong parameter count or a use
    ///   after the transaction ended.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> Int {
        try run(sql, parameters) { statement in
            while try statement.step() {}
            return db.changes
        }
    }

    /// Runs one query, with `?` parameters bound in order, and returns its rows.
    /// - Throws: as ``execute(_:_:)``.
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [SQLiteRow] {
        try run(sql, parameters) { statement in
            let count = statement.columnCount
            let columns = (0..<count).map(statement.columnName)
            var rows: [SQLiteRow] = []
            while try statement.step() {
                rows.append(SQLiteRow(columns: columns, values: (0..<count).map(statement.value)))
            }
            return rows
        }
    }

    /// Ends the handle's use (the store commits or rolls back right after).
    func end() { isOpen = false }

    private func run<T>(_ sql: String, _ parameters: [SQLiteValue], _ body: (SQLiteStatement) throws -> T) throws -> T {
        guard isOpen else {
            throw StrataError.invalidArgument("the checkpoint transaction is over: use a SQLiteTransaction only inside its commit closure")
        }
        if SQLiteTransaction.endsTransaction(sql) {
            throw StrataError.invalidArgument("the checkpoint store owns the transaction; \(sql) is not allowed inside commit")
        }
        return try SQLiteError.mapped {
            let statement = try db.cached(sql)
            defer { statement.reset() }
            guard statement.parameterCount == parameters.count else {
                throw StrataError.invalidArgument("the statement takes \(statement.parameterCount) parameters, \(parameters.count) were given: \(sql)")
            }
            for (i, value) in parameters.enumerated() { statement.bind(Int32(i + 1), value) }
            let result = try body(statement)
            guard db.isInTransaction else {
                throw StrataError.invalidArgument("a statement ended the checkpoint transaction (\(sql)); the store commits it, with the checkpoint")
            }
            return result
        }
    }

    /// Whether a statement begins or ends the transaction (its first keyword).
    static func endsTransaction(_ sql: String) -> Bool {
        let words = sql.split(whereSeparator: { $0.isWhitespace || $0 == ";" }).prefix(3).map { $0.uppercased() }
        guard let first = words.first else { return false }
        switch first {
        case "BEGIN", "COMMIT", "END": return true
        case "ROLLBACK": return !words.dropFirst().contains("TO") // ROLLBACK [TRANSACTION] TO a savepoint is fine
        default: return false
        }
    }
}
