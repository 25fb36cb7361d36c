/// Why bytes are not valid JSON (RFC 8259), and where: the `underlyingError` of the
/// `DecodingError.dataCorrupted` that ``StrataJSONDecoder`` throws for invalid input.
public struct StrataJSONSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The byte offset (from 0) of the first byte that makes the input invalid.
    public let offset: Int
    /// What is wrong there, for example `a trailing comma before '}'`.
    public let reason: String

    /// Creates a syntax error.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte offset \(offset): \(reason)" }
}
