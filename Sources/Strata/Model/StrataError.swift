/// Every error Strata throws: one case per cause, each with a message a user can act on.
public enum StrataError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An event type is empty, too long, or contains control characters.
    case invalidEventType(String, reason: String)
    /// A stream name is empty, too long, contains control characters, or is reserved.
    case invalidStreamName(String, reason: String)
    /// An event is larger than the store's per-event limit.
    case eventTooLarge(id: UUIDString, size: Int, limit: Int)
    /// Metadata is not a JSON object, or a content type is too long.
    case invalidEvent(id: UUIDString, reason: String)
    /// The request itself is malformed (no events, a stream twice in one batch, duplicate ids …).
    case invalidAppend(reason: String)
    /// The stream's revision is not what the writer expected. `actual` is `nil` when the stream does not exist.
    case wrongExpectedRevision(stream: String, expected: ExpectedRevision, actual: UInt64?)
    /// An event id was already used for a different event, stream or place.
    case eventIdReused(id: UUIDString, stream: String)
    /// A conditional append failed: an event matching the query was recorded at this position.
    case appendConditionFailed(position: UInt64)
    /// The stream does not exist (never written, or soft-deleted).
    case streamNotFound(String)
    /// The stream was tombstoned: it can be neither read nor written again.
    case streamTombstoned(String)
    /// A store URL this build does not know.
    case unknownStoreURL(String)
    /// A data directory or file of a format version this build does not read.
    case unsupportedFormat(path: String, found: String, supported: String)
    /// Stored bytes failed a check.
    case corruption(path: String, offset: Int64, reason: String)
    /// An operating-system call failed.
    case io(path: String, operation: String, reason: String)
    /// The store was closed, or stopped after an I/O failure, and accepts no more work.
    case storeClosed(reason: String)
    /// An argument is outside what the operation accepts.
    case invalidArgument(String)
    /// The backend cannot do this.
    case unsupported(String)
    /// A stored event could not be turned into its Swift type: `field` is the coding path
    /// (`"name.given"`, or empty for the whole payload).
    case eventDecodingFailed(position: UInt64, type: String, field: String, reason: String)
    /// A wait ran out of time.
    case timedOut(String)
    /// An event's data or metadata break its type's schema. `violations` lists every one, each
    /// `JSON-PATH: reason` (for example `$.data.name.family: required property is missing`).
    case schemaViolation(id: UUIDString, type: String, violations: [String])
    /// A consumer's saved checkpoint (an exporter's, a shipper's, a document view's …) is beyond
    /// the head of the store it reads: it belongs to another store, or the store was restored
    /// from an older copy. Resuming would silently skip every event up to the checkpoint.
    case checkpointAheadOfStore(consumer: String, checkpoint: UInt64, head: UInt64)
    /// A checkpoint (a checkpoint folder, a state file, an export's state) was recorded for
    /// another store than the one it is now used with: resuming would skip or repeat events
    /// of the wrong store (docs/CONTRACT.md, "Store identity").
    case checkpointOfAnotherStore(consumer: String, recorded: String, actual: String)

    /// A UUID kept as its string, so that the error stays Hashable and printable.
    public typealias UUIDString = String

    public var description: String {
        switch self {
        case .invalidEventType(let type, let reason):
            "invalid event type \(quoted(type)): \(reason)"
        case .invalidStreamName(let name, let reason):
            "invalid stream name \(quoted(name)): \(reason)"
        case .eventTooLarge(let id, let size, let limit):
            "event \(id) is \(size) bytes, over the limit of \(limit) bytes; store large payloads elsewhere or raise the limit"
        case .invalidEvent(let id, let reason):
            "invalid event \(id): \(reason)"
        case .invalidAppend(let reason):
            "invalid append: \(reason)"
        case .wrongExpectedRevision(let stream, let expected, let actual):
            "wrong expected revision on stream \(quoted(stream)): expected \(expected), actual \(actual.map(String.init) ?? "no-stream"); re-read the stream and retry"
        case .eventIdReused(let id, let stream):
            "event id \(id) was already used in stream \(quoted(stream)) for a different append; give each event a new id"
        case .appendConditionFailed(let position):
            "append condition failed: a matching event was recorded at position \(position); re-read and decide again"
        case .streamNotFound(let stream):
            "stream \(quoted(stream)) not found"
        case .streamTombstoned(let stream):
            "stream \(quoted(stream)) was tombstoned (hard-deleted) and cannot be read or written"
        case .unknownStoreURL(let url):
            "unknown store URL \(quoted(url)): use file:PATH, memory:, or a backend URL this build supports"
        case .unsupportedFormat(let path, let found, let supported):
            "\(path) has format \(found), but this build reads \(supported); use a matching Strata version"
        case .corruption(let path, let offset, let reason):
            "corruption in \(path) at offset \(offset): \(reason)"
        case .io(let path, let operation, let reason):
            "\(operation) failed for \(path): \(reason)"
        case .storeClosed(let reason):
            "the store is closed: \(reason)"
        case .invalidArgument(let reason):
            "invalid argument: \(reason)"
        case .unsupported(let feature):
            "unsupported by this backend: \(feature)"
        case .eventDecodingFailed(let position, let type, let field, let reason):
            "cannot decode event at position \(position) of type \(quoted(type))\(field.isEmpty ? "" : ", field \(quoted(field))"): \(reason)"
        case .timedOut(let what):
            "timed out \(what)"
        case .schemaViolation(let id, let type, let violations):
            "event \(id) of type \(quoted(type)) breaks its schema: \(violations.joined(separator: "; "))"
        case .checkpointAheadOfStore(let consumer, let checkpoint, let head):
            "consumer \(quoted(consumer)) has checkpoint \(checkpoint) but the store's head is \(head): the checkpoint belongs to another store, or the store was restored from an older copy; point the consumer at its own store, or reset its checkpoint (strata consumers reset NAME --to 0, or remove its checkpoint or snapshot file) to process the store from the start"
        case .checkpointOfAnotherStore(let consumer, let recorded, let actual):
            "the checkpoint of \(quoted(consumer)) was recorded for store \(recorded), not this store (\(actual)): point it at its own store, or use a new checkpoint folder (or state file) for this one"
        }
    }
}

private func quoted(_ s: String) -> String {
    let limit = 80
    let shown = s.count > limit ? String(s.prefix(limit)) + "…" : s
    return "\"" + shown.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
}
