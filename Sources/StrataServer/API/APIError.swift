import HTTPTypes
import Hummingbird
import Strata
import StrataConsumers
import StrataDocuments
import StrataJSONShapes

/// An error the server answers with: a status and a JSON body `{"error": {"code", "message",
/// "details"}}`. Every failure becomes one of these in one place, ``APIError/init(_:)``.
package struct APIError: Error, Sendable {
    package let status: HTTPResponse.Status
    package let code: String
    package let message: String
    let details: [(String, ErrorJSON.Detail)]
    /// Seconds for a `Retry-After` header.
    package var retryAfter: Int?

    init(_ status: HTTPResponse.Status, code: String, _ message: String, details: [(String, ErrorJSON.Detail)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    /// The response for a store error: the status of each case is listed in docs/SERVER.md.
    init(_ error: StrataError) {
        let status: HTTPResponse.Status = switch error {
        case .invalidEventType, .invalidStreamName, .invalidEvent, .invalidAppend, .invalidArgument: .badRequest
        case .schemaViolation: .unprocessableContent
        case .eventTooLarge: .contentTooLarge
        case .wrongExpectedRevision, .eventIdReused, .appendConditionFailed: .conflict
        case .streamNotFound: .notFound
        case .streamTombstoned: .gone
        case .storeClosed: .serviceUnavailable
        // A feature this backend does not offer (docs/CONTRACT.md): 501, not a client error.
        case .unsupported: .notImplemented
        case .timedOut: .gatewayTimeout
        case .unknownStoreURL, .unsupportedFormat, .corruption, .io, .eventDecodingFailed, .checkpointAheadOfStore, .checkpointOfAnotherStore: .internalServerError
        }
        self.init(status, code: ErrorJSON.code(of: error), error.description, details: ErrorJSON.details(of: error))
    }

    /// Any error a handler throws, as an API error.
    package static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as StrataError: return APIError(e)
        case let e as CollectionLimitReached:
            var error = APIError(.serviceUnavailable, code: "too-many-collections", e.description,
                                 details: [("limit", .signed(Int64(e.limit)))])
            error.retryAfter = 5
            return error
        case let e as PersistentSubscriptionError: return APIError(e)
        case let e as HTTPError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, code: "body-too-large", "the request body is over the server's limit")
        case let e as HTTPError:
            return APIError(e.status, code: e.status == .notFound ? "not-found" : "http-\(e.status.code)", e.body ?? e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, code: "internal", "internal error: \(error)")
        }
    }

    /// The response for a persistent subscription's refusal (docs/SERVER.md, "Persistent
    /// subscriptions"). A group another instance runs is answered here with 409 when its owner
    /// is no URL; the routes redirect to an owner that is one (307) before this.
    init(_ error: PersistentSubscriptionError) {
        switch error {
        case .notFound(let name):
            self.init(.notFound, code: "subscription-not-found", error.description, details: APIError.details(name))
        case .alreadyExists(let name):
            self.init(.conflict, code: "subscription-exists", error.description, details: APIError.details(name))
        case .maximumSubscribersReached(let name):
            self.init(.conflict, code: "maximum-subscribers-reached", error.description, details: APIError.details(name))
        case .ownedElsewhere(let name, let owner):
            self.init(.conflict, code: "owned-elsewhere", error.description, details: APIError.details(name) + [("owner", .string(owner))])
        }
    }

    private static func details(_ name: PersistentSubscriptionName) -> [(String, ErrorJSON.Detail)] {
        [("stream", .string(name.stream)), ("group", .string(name.group))]
    }

    static func malformed(_ reason: String) -> APIError {
        APIError(.badRequest, code: "malformed-json", "malformed JSON: \(reason)", details: [("reason", .string(reason))])
    }

    static func badParameter(_ reason: String) -> APIError {
        APIError(.badRequest, code: "invalid-argument", "invalid argument: \(reason)", details: [("reason", .string(reason))])
    }

    var body: [UInt8] { ErrorJSON.encode(code: code, message: message, details: details) }

    /// The JSON response.
    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
