import Foundation
import GRPCCore
import Strata
import StrataConsumers
import StrataServer

/// One call's admission and its errors in the protocol's form: the same API keys, scopes, stream
/// prefixes and rate limits as the HTTP API (docs/KURRENTDB.md, "Authentication").
enum KurrentCall {
    /// The principal a call's metadata presents, allowed `scope`.
    ///
    /// A key travels as the clients send credentials: `authorization: Basic base64(user:password)`
    /// with the key's name as the user and its secret as the password, or `authorization: Bearer
    /// <secret>`. Without configured keys every call is anonymous (the server then listens on
    /// loopback only).
    static func admit(_ metadata: Metadata, state: ServerState, scope: APIKey.Scope) throws -> Principal {
        var presented: String?
        var user: String?
        var values = metadata[stringValues: "authorization"].makeIterator()
        if let value = values.next() {
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                presented = String(parts[1])
            } else if parts.count == 2, parts[0].lowercased() == "basic",
                      let decoded = Data(base64Encoded: String(parts[1])).flatMap({ String(data: $0, encoding: .utf8) }),
                      let colon = decoded.firstIndex(of: ":") {
                user = String(decoded[..<colon])
                presented = String(decoded[decoded.index(after: colon)...])
            } else {
                throw RPCError(code: .unauthenticated, message: "the authorization header is neither Basic nor Bearer")
            }
        }
        let principal: Principal
        do { principal = try state.admit(presentedKey: presented) } catch { throw rpcError(error) }
        if let user, principal.key != nil, user != principal.name {
            throw RPCError(code: .unauthenticated, message: "the user name is not the name of the key whose secret was sent")
        }
        guard principal.allows(scope) else {
            throw RPCError(code: .permissionDenied, message: "Access denied: the key \(principal.name) lacks the \(scope.rawValue) scope")
        }
        return principal
    }

    /// Refuses a stream outside the principal's prefix.
    static func check(_ principal: Principal, covers stream: String) throws {
        guard principal.covers(stream: stream) else {
            throw RPCError(code: .permissionDenied, message: "Access denied: the key \(principal.name) may not touch stream \(stream)")
        }
    }

    /// The protocol's message for a wrong expected revision, which the clients parse.
    static func wrongExpectedVersionMessage(stream: String, expected: ExpectedRevision, actual: UInt64?) -> String {
        let actualNumber = actual.map { Int64(KurrentMapping.revision($0)) } ?? -1
        return "Append failed due to WrongExpectedVersion. Stream: \(stream), Expected version: \(KurrentMapping.versionNumber(expected)), Actual version: \(actualNumber)"
    }

    /// Any error a handler throws, as the gRPC status KurrentDB answers with.
    static func rpcError(_ error: any Error) -> RPCError {
        switch error {
        case let e as RPCError: return e
        case let e as StrataError:
            switch e {
            case .streamNotFound(let stream): return RPCError(code: .notFound, message: "Event stream '\(stream)' is not found.")
            case .streamTombstoned(let stream): return RPCError(code: .failedPrecondition, message: "Event stream '\(stream)' is deleted.")
            case .wrongExpectedRevision(let stream, let expected, let actual):
                return RPCError(code: .failedPrecondition, message: wrongExpectedVersionMessage(stream: stream, expected: expected, actual: actual))
            case .invalidEventType, .invalidStreamName, .invalidEvent, .invalidAppend, .invalidArgument, .eventTooLarge, .schemaViolation:
                return RPCError(code: .invalidArgument, message: e.description)
            case .eventIdReused, .appendConditionFailed: return RPCError(code: .alreadyExists, message: e.description)
            case .storeClosed: return RPCError(code: .unavailable, message: e.description)
            case .unsupported: return RPCError(code: .unimplemented, message: e.description)
            case .timedOut: return RPCError(code: .deadlineExceeded, message: e.description)
            default: return RPCError(code: .internalError, message: e.description)
            }
        case let e as PersistentSubscriptionError:
            switch e {
            case .notFound: return RPCError(code: .notFound, message: e.description)
            case .alreadyExists: return RPCError(code: .alreadyExists, message: e.description)
            case .maximumSubscribersReached: return RPCError(code: .failedPrecondition, message: "Maximum subscriptions reached: \(e.description)")
            case .ownedElsewhere: return RPCError(code: .unavailable, message: e.description)
            }
        case let e as APIError:
            let code: RPCError.Code = switch e.status.code {
            case 401: .unauthenticated
            case 403: .permissionDenied
            case 404: .notFound
            case 409: .alreadyExists
            case 429: .resourceExhausted
            case 503: .unavailable
            case 400, 413, 422: .invalidArgument
            default: .internalError
            }
            return RPCError(code: code, message: e.message)
        case is CancellationError: return RPCError(code: .cancelled, message: "cancelled")
        default: return RPCError(code: .internalError, message: "\(error)")
        }
    }

    /// Runs a handler's body, turning what it throws into the protocol's statuses.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch { throw rpcError(error) }
    }
}
