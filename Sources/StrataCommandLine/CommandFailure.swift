import Strata
import StrataSchema

/// A failure that belongs to the command line rather than to the store.
public enum CommandFailure: Error, CustomStringConvertible {
    /// A read-only command was pointed at a directory that holds no store.
    case noStore(path: String)
    /// A line of bulk input was rejected; nothing from its batch was stored.
    case badInputLine(line: Int, reason: String)
    /// A bulk batch was refused by the store; nothing from it was stored.
    case batchFailed(firstLine: Int, lastLine: Int, error: StrataError)
    /// `verify` found problems (already printed, one per line).
    case problemsFound(count: Int, path: String)
    /// The command does not apply to this kind of store.
    case notApplicable(String)
    /// Arguments that do not fit together.
    case usage(String)
    /// What the command was asked to print is not there (a document, for example).
    case notFound(String)

    /// The message printed after `error: `.
    public var description: String {
        switch self {
        case .noStore(let path):
            "no store at \(path); run `strata init` first (or `strata serve --create`), or pass another --store"
        case .badInputLine(let line, let reason):
            "line \(line): \(reason); nothing from its batch was stored"
        case .batchFailed(let first, let last, let error):
            first == last ? "line \(first): \(error); nothing from it was stored"
                : "lines \(first)-\(last): \(error); nothing from these lines was stored"
        case .problemsFound(let count, let path):
            "verify found \(count) problem\(count == 1 ? "" : "s") in \(path)"
        case .notApplicable(let reason):
            reason
        case .usage(let reason):
            reason
        case .notFound(let what):
            what
        }
    }
}

/// The exit status for each kind of failure, the same for `strata` and `strata-bench`.
/// Documented in docs/CLI.md; change both together.
public enum ExitStatus {
    /// Success.
    public static let success: Int32 = 0
    /// The store failed or refused (I/O, not found, tombstoned, closed), or `verify` found corruption.
    public static let failure: Int32 = 1
    /// Bad input: arguments, store URL, stream name, event type, event content, bulk lines, event configs.
    public static let badInput: Int32 = 2
    /// A concurrency conflict: wrong expected revision, reused event id, failed append condition.
    public static let conflict: Int32 = 3

    /// The status for an error thrown by a command.
    public static func of(_ error: any Error) -> Int32 {
        if let failure = error as? CommandFailure {
            switch failure {
            case .noStore, .problemsFound, .notFound: return ExitStatus.failure
            case .badInputLine, .notApplicable, .usage: return ExitStatus.badInput
            case .batchFailed(_, _, let error): return ExitStatus.of(error)
            }
        }
        if error is EventSchemaError { return ExitStatus.badInput }
        guard let error = error as? StrataError else { return ExitStatus.failure }
        switch error {
        case .invalidEventType, .invalidStreamName, .eventTooLarge, .invalidEvent, .invalidAppend, .unknownStoreURL,
             .invalidArgument, .schemaViolation:
            return ExitStatus.badInput
        case .wrongExpectedRevision, .eventIdReused, .appendConditionFailed:
            return ExitStatus.conflict
        case .streamNotFound, .streamTombstoned, .unsupportedFormat, .corruption, .io, .storeClosed, .unsupported,
             .eventDecodingFailed, .timedOut, .checkpointAheadOfStore, .checkpointOfAnotherStore:
            return ExitStatus.failure
        }
    }
}
