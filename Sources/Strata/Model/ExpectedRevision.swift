/// Optimistic concurrency on append: what the writer believes about the stream.
public enum ExpectedRevision: Sendable, Hashable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must not exist (never written, or soft-deleted with nothing appended since).
    case noStream
    /// The stream must exist.
    case streamExists
    /// The stream's last revision must be exactly this one (`0` means the same as ``noStream``).
    case exact(UInt64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no-stream"
        case .streamExists: "stream-exists"
        case .exact(let n): String(n)
        }
    }

    /// Parses `any`, `no-stream`, `exists`/`stream-exists` or a revision number.
    public init?(parsing text: String) {
        switch text {
        case "any": self = .any
        case "no-stream", "nostream": self = .noStream
        case "exists", "stream-exists": self = .streamExists
        default:
            guard let n = UInt64(text) else { return nil }
            self = .exact(n)
        }
    }
}
