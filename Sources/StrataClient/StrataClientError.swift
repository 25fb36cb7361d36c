/// A refusal by the server that is not a store error: authentication, scopes, limits, malformed
/// requests (the codes of docs/SERVER.md). Store errors arrive as the same ``Strata/StrataError``
/// the server's store threw.
public struct StrataClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status.
    public let status: Int
    /// The error code, for example `unauthorized`, `forbidden`, `rate-limited`, `body-too-large`.
    public let code: String
    /// The server's message.
    public let message: String

    /// Creates an error.
    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "server refused the request (\(status) \(code)): \(message)" }
}
