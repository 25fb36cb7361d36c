import Foundation
import Strata
import StrataJSON

/// The JSON body of every error the server sends: `{"error": {"code", "message", "details"}}`.
/// `code` is a stable kebab-case name; `details` holds the error's fields, so that a client can
/// rebuild the exact ``StrataError`` (docs/SERVER.md lists every code).
public enum ErrorJSON {
    /// The stable code of each ``StrataError`` case.
    public static func code(of error: StrataError) -> String {
        switch error {
        case .invalidEventType: "invalid-event-type"
        case .invalidStreamName: "invalid-stream-name"
        case .eventTooLarge: "event-too-large"
        case .invalidEvent: "invalid-event"
        case .invalidAppend: "invalid-append"
        case .wrongExpectedRevision: "wrong-expected-revision"
        case .eventIdReused: "event-id-reused"
        case .appendConditionFailed: "append-condition-failed"
        case .streamNotFound: "stream-not-found"
        case .streamTombstoned: "stream-tombstoned"
        case .unknownStoreURL: "unknown-store-url"
        case .unsupportedFormat: "unsupported-format"
        case .corruption: "corruption"
        case .io: "io"
        case .storeClosed: "store-closed"
        case .invalidArgument: "invalid-argument"
        case .unsupported: "unsupported"
        case .eventDecodingFailed: "event-decoding-failed"
        case .timedOut: "timed-out"
        case .schemaViolation: "schema-violation"
        case .checkpointAheadOfStore: "checkpoint-ahead-of-store"
        case .checkpointOfAnotherStore: "checkpoint-of-another-store"
        }
    }

    /// A value inside `details`.
    public enum Detail: Sendable, Hashable {
        case string(String)
        case number(UInt64)
        case signed(Int64)
        case strings([String])
        case null
    }

    /// The fields of a ``StrataError``, in the order they are written.
    public static func details(of error: StrataError) -> [(String, Detail)] {
        switch error {
        case .invalidEventType(let type, let reason): [("type", .string(type)), ("reason", .string(reason))]
        case .invalidStreamName(let name, let reason): [("stream", .string(name)), ("reason", .string(reason))]
        case .eventTooLarge(let id, let size, let limit): [("id", .string(id)), ("size", .signed(Int64(size))), ("limit", .signed(Int64(limit)))]
        case .invalidEvent(let id, let reason): [("id", .string(id)), ("reason", .string(reason))]
        case .invalidAppend(let reason): [("reason", .string(reason))]
        case .wrongExpectedRevision(let stream, let expected, let actual):
            [("stream", .string(stream)), ("expected", .string(expected.description)), ("actual", actual.map(Detail.number) ?? .null)]
        case .eventIdReused(let id, let stream): [("id", .string(id)), ("stream", .string(stream))]
        case .appendConditionFailed(let position): [("position", .number(position))]
        case .streamNotFound(let stream): [("stream", .string(stream))]
        case .streamTombstoned(let stream): [("stream", .string(stream))]
        case .unknownStoreURL(let url): [("url", .string(url))]
        case .unsupportedFormat(let path, let found, let supported): [("path", .string(path)), ("found", .string(found)), ("supported", .string(supported))]
        case .corruption(let path, let offset, let reason): [("path", .string(path)), ("offset", .signed(offset)), ("reason", .string(reason))]
        case .io(let path, let operation, let reason): [("path", .string(path)), ("operation", .string(operation)), ("reason", .string(reason))]
        case .storeClosed(let reason): [("reason", .string(reason))]
        case .invalidArgument(let reason): [("reason", .string(reason))]
        case .unsupported(let feature): [("feature", .string(feature))]
        case .eventDecodingFailed(let position, let type, let field, let reason):
            [("position", .number(position)), ("type", .string(type)), ("field", .string(field)), ("reason", .string(reason))]
        case .timedOut(let what): [("what", .string(what))]
        case .schemaViolation(let id, let type, let violations):
            [("id", .string(id)), ("type", .string(type)), ("violations", .strings(violations))]
        case .checkpointAheadOfStore(let consumer, let checkpoint, let head):
            [("consumer", .string(consumer)), ("checkpoint", .number(checkpoint)), ("head", .number(head))]
        case .checkpointOfAnotherStore(let consumer, let recorded, let actual):
            [("consumer", .string(consumer)), ("recorded", .string(recorded)), ("actual", .string(actual))]
        }
    }

    /// The body for a store error.
    public static func encode(_ error: StrataError) -> [UInt8] {
        encode(code: code(of: error), message: error.description, details: details(of: error))
    }

    /// The body for any error.
    public static func encode(code: String, message: String, details: [(String, Detail)] = []) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error")
        json.beginObject()
        json.field("code", code)
        json.field("message", message)
        if !details.isEmpty {
            json.key("details")
            json.beginObject()
            for (name, value) in details {
                json.key(name)
                switch value {
                case .string(let s): json.string(s)
                case .number(let n): json.number(n)
                case .signed(let n): json.number(n)
                case .strings(let list):
                    json.beginArray()
                    for item in list { json.string(item) }
                    json.endArray()
                case .null: json.null()
                }
            }
            json.endObject()
        }
        json.endObject()
        json.endObject()
        return json.bytes
    }

    /// An error body as decoded by `JSONDecoder`.
    public struct Body: Decodable, Sendable {
        /// The `error` object.
        public struct Content: Decodable, Sendable {
            public var code: String
            public var message: String
            public var details: [String: Value]?
        }
        /// A detail value.
        public enum Value: Decodable, Sendable {
            case string(String)
            case number(Int64)
            case strings([String])
            case null

            public init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if c.decodeNil() {
                    self = .null
                } else if let n = try? c.decode(Int64.self) {
                    self = .number(n)
                } else if let list = try? c.decode([String].self) {
                    self = .strings(list)
                } else {
                    self = .string(try c.decode(String.self))
                }
            }
        }
        public var error: Content
    }

    /// Rebuilds the ``StrataError`` a server sent, or `nil` when the code is not a store error
    /// (authentication, limits, malformed requests: the caller reports those itself).
    public static func strataError(from body: Body) -> StrataError? {
        let d = body.error.details ?? [:]
        func s(_ key: String) -> String {
            if case .string(let v)? = d[key] { return v }
            if case .number(let n)? = d[key] { return String(n) }
            return ""
        }
        func n(_ key: String) -> Int64 {
            if case .number(let v)? = d[key] { return v }
            return 0
        }
        switch body.error.code {
        case "invalid-event-type": return .invalidEventType(s("type"), reason: s("reason"))
        case "invalid-stream-name": return .invalidStreamName(s("stream"), reason: s("reason"))
        case "event-too-large": return .eventTooLarge(id: s("id"), size: Int(n("size")), limit: Int(n("limit")))
        case "invalid-event": return .invalidEvent(id: s("id"), reason: s("reason"))
        case "invalid-append": return .invalidAppend(reason: s("reason"))
        case "wrong-expected-revision":
            var actual: UInt64?
            if case .number(let a)? = d["actual"] { actual = UInt64(a) }
            return .wrongExpectedRevision(stream: s("stream"), expected: ExpectedRevision(parsing: s("expected")) ?? .any, actual: actual)
        case "event-id-reused": return .eventIdReused(id: s("id"), stream: s("stream"))
        case "append-condition-failed": return .appendConditionFailed(position: UInt64(n("position")))
        case "stream-not-found": return .streamNotFound(s("stream"))
        case "stream-tombstoned": return .streamTombstoned(s("stream"))
        case "unknown-store-url": return .unknownStoreURL(s("url"))
        case "unsupported-format": return .unsupportedFormat(path: s("path"), found: s("found"), supported: s("supported"))
        case "corruption": return .corruption(path: s("path"), offset: n("offset"), reason: s("reason"))
        case "io": return .io(path: s("path"), operation: s("operation"), reason: s("reason"))
        case "store-closed": return .storeClosed(reason: s("reason"))
        case "invalid-argument": return .invalidArgument(s("reason"))
        case "unsupported": return .unsupported(s("feature"))
        case "event-decoding-failed":
            return .eventDecodingFailed(position: UInt64(n("position")), type: s("type"), field: s("field"), reason: s("reason"))
        case "timed-out": return .timedOut(s("what"))
        case "schema-violation":
            var violations: [String] = []
            if case .strings(let list)? = d["violations"] { violations = list }
            return .schemaViolation(id: s("id"), type: s("type"), violations: violations)
        case "checkpoint-ahead-of-store":
            return .checkpointAheadOfStore(consumer: s("consumer"), checkpoint: UInt64(n("checkpoint")), head: UInt64(n("head")))
        case "checkpoint-of-another-store":
            return .checkpointOfAnotherStore(consumer: s("consumer"), recorded: s("recorded"), actual: s("actual"))
        default: return nil
        }
    }
}
