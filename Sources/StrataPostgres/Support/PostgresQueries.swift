import Logging
import PostgresNIO

/// Bind values for a query built from text (the schema name is part of every statement, so
/// statements are `PostgresQuery(unsafeSQL:binds:)` with `$n` placeholders).
func binds(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values { try bindings.append(value) }
    return bindings
}

extension PostgresConnection {
    /// Runs a statement and drains its rows. The explicit result type keeps Swift from picking
    /// the `EventLoopFuture` overload, which would not wait for the statement.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        let rows: PostgresRowSequence = try await self.query(query, logger: logger)
        for try await _ in rows {}
    }

    /// Runs a query and returns every row.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        let rows: PostgresRowSequence = try await self.query(query, logger: logger)
        return try await rows.collect()
    }
}

/// Strings PostgreSQL's `text` cannot hold as they are: it refuses U+0000. Content types, tags,
/// consumer names and error texts are application strings that may (in theory) contain it, so
/// they are stored through this reversible, injective escape: U+0001 becomes U+0001 U+0001 and
/// U+0000 becomes U+0001 `0`. Strings without either character (all real ones) are unchanged
/// and cost one scan.
enum StoredText {
    static func encode(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 <= 1 }) else { return s }
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count + 4)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0: out.unicodeScalars.append("\u{1}"); out.unicodeScalars.append("0")
            case 1: out.unicodeScalars.append("\u{1}"); out.unicodeScalars.append("\u{1}")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func decode(_ s: String) -> String {
        guard s.utf8.contains(1) else { return s }
        var out = ""
        var escaped = false
        for scalar in s.unicodeScalars {
            if escaped {
                out.unicodeScalars.append(scalar == "0" ? "\u{0}" : scalar)
                escaped = false
            } else if scalar.value == 1 {
                escaped = true
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A `LIKE` pattern matching every string that starts with `prefix`, byte for byte (columns
/// use the "C" collation). PostgreSQL turns it into an index range when the prefix is known at
/// planning time, which it is for unnamed statements.
func likePrefixPattern(_ prefix: String) -> String {
    var pattern = ""
    for character in prefix.unicodeScalars {
        if character == "\\" || character == "%" || character == "_" { pattern.unicodeScalars.append("\\") }
        pattern.unicodeScalars.append(character)
    }
    return pattern + "%"
}
