/// Why bytes are not one valid JSON text (RFC 8259), and where. Every JSON reader in Strata
/// throws it: ``JSONTree``, `JSONValue(parsing:)`, and, as the `underlyingError` of the
/// `DecodingError.dataCorrupted` it throws for invalid input, ``StrataJSONDecoder``.
public struct StrataJSONSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The byte offset (from 0) of the first byte that makes the input invalid.
    public let offset: Int
    /// The 1-based line of that byte.
    public let line: Int
    /// The 1-based column (in bytes) of that byte.
    public let column: Int
    /// What is wrong there, for example `a trailing comma before '}'`.
    public let reason: String

    /// Creates a syntax error.
    public init(offset: Int, line: Int, column: Int, reason: String) {
        self.offset = offset
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// Creates a syntax error at `offset` of `input`, counting its line and column.
    init(offset: Int, in input: UnsafeRawBufferPointer, reason: String) {
        let end = min(offset, input.count)
        var line = 1
        var lineStart = 0
        for i in 0..<end where input[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        self.init(offset: offset, line: line, column: end - lineStart + 1, reason: reason)
    }

    public var description: String { "invalid JSON at line \(line), column \(column) (byte offset \(offset)): \(reason)" }
}
