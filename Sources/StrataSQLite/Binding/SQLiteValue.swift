import Foundation

/// A value bound to, or read from, SQL: SQLite's five storage classes.
///
/// ```swift
/// try tx.execute("INSERT INTO totals(customer, amount) VALUES (?, ?)", ["c-7", 42])
/// ```
public enum SQLiteValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit signed integer.
    case integer(Int64)
    /// A 64-bit floating-point number.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Bytes.
    case blob(Data)

    /// The integer, when this is one.
    public var integer: Int64? { if case .integer(let n) = self { n } else { nil } }
    /// The number as a `Double` (integers converted), when this is one.
    public var real: Double? {
        switch self {
        case .real(let d): d
        case .integer(let n): Double(n)
        default: nil
        }
    }
    /// The text, when this is text.
    public var text: String? { if case .text(let s) = self { s } else { nil } }
    /// The bytes, when this is a BLOB.
    public var blob: Data? { if case .blob(let b) = self { b } else { nil } }
    /// Whether this is NULL.
    public var isNull: Bool { self == .null }
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .real(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .text(value) }
    /// `nil`, SQL NULL.
    public init(nilLiteral: ()) { self = .null }
}

/// One row of a query: values by column index or name.
public struct SQLiteRow: Sendable, Hashable {
    /// The column names, in order.
    public let columns: [String]
    /// The values, in column order.
    public let values: [SQLiteValue]

    /// Creates a row.
    public init(columns: [String], values: [SQLiteValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of a column by index.
    public subscript(index: Int) -> SQLiteValue { values[index] }

    /// The value of the first column with this name, or NULL when there is none.
    public subscript(name: String) -> SQLiteValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
}
