import Foundation
import Hummingbird
import HTTPTypes
import Strata
import StrataJSONShapes

/// The endpoints, as methods over the shared ``ServerState``. Each file of `Routes/` holds one
/// group; ``register(on:)`` lists every route in one place (and docs/openapi.yaml describes each).
struct Handlers: Sendable {
    let state: ServerState

    /// Adds every route to `router` (a `Router`, or a group of a user's router). Each route is
    /// registered with the scope a key needs for it, checked by ``ScopeMiddleware``: the one
    /// place scopes are checked. Authentication is ``GuardMiddleware``'s.
    func register(on router: some RouterMethods<StrataRequestContext>) {
        let reads = router.group().add(middleware: ScopeMiddleware(scope: .read))
        let writes = router.group().add(middleware: ScopeMiddleware(scope: .write))
        let admin = router.group().add(middleware: ScopeMiddleware(scope: .admin))
        writes.post("/streams/:stream", use: appendToStream)
        reads.get("/streams/:stream", use: read)
        writes.delete("/streams/:stream", use: deleteStream)
        reads.get("/streams/:stream/info", use: streamInfo)
        writes.put("/streams/:stream/metadata", use: setMetadata)
        reads.get("/streams", use: listStreams)
        writes.post("/append", use: appendMany)
        reads.get("/head", use: head)
        reads.get("/wait", use: waitForAppends)
        reads.get("/subscribe/:stream", use: subscribe)
        reads.get("/ws/subscribe/:stream", use: webSocketWithoutUpgrade)
        writes.post("/ingest", use: ingest)
        reads.get("/documents/:collection/keys", use: documentKeys)
        reads.post("/documents/:collection/query", use: documentQuery)
        reads.post("/documents/:collection/count", use: documentCount)
        reads.get("/documents/:collection/subscribe", use: documentSubscribe)
        writes.post("/documents/:collection", use: documentInsert)
        reads.get("/documents/:collection/changes", use: documentChanges)
        reads.get("/documents/:collection/changes/subscribe", use: documentChangesSubscribe)
        admin.post("/documents/:collection/restore", use: documentRestore)
        reads.get("/documents/:collection/:key/history", use: documentHistory)
        reads.get("/documents/:collection/:key", use: documentGet)
        writes.put("/documents/:collection/:key", use: documentPut)
        writes.patch("/documents/:collection/:key", use: documentPatch)
        writes.delete("/documents/:collection/:key", use: documentDelete)
        admin.post("/snapshots/:storeId", use: snapshotCreate)
        reads.get("/snapshots/:storeId", use: snapshotList)
        reads.get("/snapshots/:storeId/:name", use: snapshotRead)
        admin.delete("/snapshots/:storeId/:name", use: snapshotDelete)
        admin.post("/snapshots/:storeId/:name/restore", use: snapshotRestore)
        reads.get("/subscriptions", use: subscriptionList)
        admin.put("/subscriptions/:stream/:group", use: subscriptionCreate)
        admin.post("/subscriptions/:stream/:group", use: subscriptionUpdate)
        admin.delete("/subscriptions/:stream/:group", use: subscriptionDelete)
        reads.get("/subscriptions/:stream/:group/info", use: subscriptionInfo)
        reads.post("/subscriptions/:stream/:group/read", use: subscriptionRead)
        reads.post("/subscriptions/:stream/:group/ack", use: subscriptionAck)
        reads.post("/subscriptions/:stream/:group/nack", use: subscriptionNack)
        admin.post("/subscriptions/:stream/:group/replayParked", use: subscriptionReplayParked)
        reads.get("/subscriptions/:stream/:group/parked", use: subscriptionParked)
        reads.get("/stats", use: stats)
        reads.get("/consumers", use: consumers)
        admin.get("/metrics", use: metrics)
        admin.post("/scavenge", use: scavenge)
        admin.post("/streams/:stream/erase", use: eraseStream)
        // Public: probes, the API description and the admin page's static files (GuardMiddleware.isPublic).
        router.get("/health/live", use: live)
        router.get("/health/ready", use: ready)
        router.get("/openapi.yaml", use: openAPI)
        router.get("/", use: adminIndex)
        router.get("/admin/:file", use: adminFile)
    }

    // MARK: - Shared helpers

    /// The `{stream}` path parameter, percent-decoded.
    func streamParameter(_ context: StrataRequestContext) throws(APIError) -> String {
        guard let raw = context.parameters.get("stream") else { throw APIError.badParameter("the stream is missing from the path") }
        guard let name = raw.removingPercentEncoding else { throw APIError.badParameter("the stream name is not valid percent-encoding") }
        return name
    }

    /// The stream of a path that must be one the principal may write or read.
    func coveredStream(_ context: StrataRequestContext) throws(APIError) -> String {
        let stream = try streamParameter(context)
        guard context.principal.covers(stream: stream) else { throw APIError.outsidePrefix(stream) }
        return stream
    }

    /// The request body, refused with 413 when over the limit (checked before reading when the
    /// client declares a length).
    func body(_ request: Request) async throws -> [UInt8] {
        let limit = state.limits.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.bodyTooLarge(limit)
        }
        let timeout = Duration.milliseconds(Int64(state.limits.requestBodyTimeoutSeconds * 1000))
        do {
            // The body must arrive within the timeout (a client trickling it holds a connection
            // and a task): the read is cancelled when the timer wins.
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    var request = request
                    let buffer = try await request.collectBody(upTo: limit)
                    return Array(buffer.readableBytesView)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let bytes = first else {
                    throw APIError(.requestTimeout, code: "request-timeout",
                                   "the request body did not arrive within \(state.limits.requestBodyTimeoutSeconds) seconds")
                }
                return bytes
            }
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit)
        }
    }

    func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func noContent() -> Response { Response(status: .noContent) }
}

extension APIError {
    static func bodyTooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "body-too-large", "the request body is over this server's limit of \(limit) bytes",
                 details: [("limit", .signed(Int64(limit)))])
    }
}
