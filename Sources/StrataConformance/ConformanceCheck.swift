/// One named check of the contract. The name reads as a specification and never changes, so
/// that test reports and `--filter` arguments stay stable.
public struct ConformanceCheck: Sendable {
    /// What the check proves, as a sentence.
    public let name: String
    /// The check itself: fails through `#expect` / `#require` or by throwing.
    public let body: @Sendable (ConformanceContext) async throws -> Void

    /// Creates a check.
    public init(_ name: String, _ body: @escaping @Sendable (ConformanceContext) async throws -> Void) {
        self.name = name
        self.body = body
    }
}
