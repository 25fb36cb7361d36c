import AsyncAlgorithms
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Strata
import StrataDocuments

/// Strata Documents over HTTP: `/documents/{collection}…` (docs/SERVER.md, "Documents").
///
/// A collection is opened on first use by the server's `DocumentManager` over the server's
/// store, so its documents are ordinary events (`<collection>-<key>` streams) that the streams
/// API, subscriptions and the admin page also see.
extension Handlers {
    func registerDocuments(on router: Router<StrataRequestContext>) {
        router.get("/documents/:collection/keys", use: documentKeys)
        router.post("/documents/:collection/query", use: documentQuery)
        router.post("/documents/:collection/count", use: documentCount)
        router.get("/documents/:collection/subscribe", use: documentSubscribe)
        router.post("/documents/:collection", use: documentInsert)
        router.get("/documents/:collection/:key", use: documentGet)
        router.put("/documents/:collection/:key", use: documentPut)
        router.patch("/documents/:collection/:key", use: documentPatch)
        router.delete("/documents/:collection/:key", use: documentDelete)
    }

    // MARK: Writes

    @Sendable func documentPut(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context, scope: .write)
        let data = try await documentBody(request)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        let document = try await state.documents.collection(collection).put(key, data, expectedChanges: expected)
        return json(document.json.jsonBytes)
    }

    @Sendable func documentPatch(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context, scope: .write)
        let partial = try await documentBody(request)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        do {
            let document = try await state.documents.collection(collection).patch(key, partial, expectedChanges: expected)
            return json(document.json.jsonBytes)
        } catch StrataError.streamNotFound {
            throw APIError.documentNotFound(collection: collection, key: key)
        }
    }

    @Sendable func documentDelete(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context, scope: .write)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        let deleted = try await state.documents.collection(collection).delete(key, expectedChanges: expected)
        return json(DocumentValue.object(["deleted": .bool(deleted)]).jsonBytes)
    }

    @Sendable func documentInsert(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context, scope: .write)
        let data = try await documentBody(request)
        let document = try await state.documents.collection(collection).insert(data)
        return json(document.json.jsonBytes, status: .created)
    }

    // MARK: Reads

    @Sendable func documentGet(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context, scope: .read)
        guard let document = try await existingCollection(collection).get(key) else {
            throw APIError.documentNotFound(collection: collection, key: key)
        }
        return json(document.json.jsonBytes)
    }

    /// `{"filter": {…}, "sort": …, "limit": n, "offset": n, "project": […]}` → `{"documents": [{data, meta}…]}`.
    @Sendable func documentQuery(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context, scope: .read)
        var members = try await documentBody(request, what: "the query").objectValue ?? [:]
        let filter = members.removeValue(forKey: "filter") ?? .object([:])
        let options = try QueryOptions(json: .object(members))
        let documents = try await existingCollection(collection).query(filter, options: options)
        // Cut by size as well as by `limit`: `nextOffset` (when present) is the offset that
        // continues a cut page.
        let limit = state.limits.maxResponseBytes
        var out: [UInt8] = Array(#"{"documents":["#.utf8)
        var written = 0
        for document in documents {
            let bytes = document.json.jsonBytes
            if written > 0 && out.count + bytes.count + 1 > limit { break }
            if written > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: bytes)
            written += 1
        }
        out.append(UInt8(ascii: "]"))
        if written < documents.count {
            out.append(contentsOf: #","nextOffset":"#.utf8)
            out.append(contentsOf: String(options.offset + written).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return json(out)
    }

    /// `{"filter": {…}}` → `{"count": n}`.
    @Sendable func documentCount(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context, scope: .read)
        let members = try await documentBody(request, what: "the count").objectValue ?? [:]
        if let unknown = members.keys.first(where: { $0 != "filter" }) {
            throw APIError.malformed("unknown member \"\(unknown)\" in the count: only \"filter\" is allowed")
        }
        let count = try await existingCollection(collection).count(members["filter"] ?? .object([:]))
        return json(DocumentValue.object(["count": .int(Int64(count))]).jsonBytes)
    }

    /// `?pattern=<regex>` or `?glob=<glob>` (neither: every key), `?after=<key>` →
    /// `{"keys": […], "next"?: <key>}`: `next` (the last key given) continues a page cut at
    /// ``ServerLimits/maxResponseBytes``.
    @Sendable func documentKeys(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context, scope: .read)
        let query = Query(request.uri)
        let store = try await existingCollection(collection)
        let keys: [String]
        switch (query.string("pattern"), query.string("glob")) {
        case (let pattern?, nil): keys = try store.keys(matching: pattern)
        case (nil, let glob?): keys = try store.keys(glob: glob)
        case (nil, nil): keys = try store.keys()
        default: throw APIError.badParameter("give pattern or glob, not both")
        }
        // Sorted by UTF-8 bytes: `after` continues a page that was cut by size (its `next`).
        let after = query.string("after")
        let limit = state.limits.maxResponseBytes
        var out: [UInt8] = Array(#"{"keys":["#.utf8)
        var written = 0, next: String?, lastWritten = ""
        for key in keys where after.map({ $0.utf8.lexicographicallyPrecedes(key.utf8) }) ?? true {
            let bytes = DocumentValue.string(key).jsonBytes
            if written > 0 && out.count + bytes.count + 1 > limit {
                next = lastWritten
                break
            }
            if written > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: bytes)
            written += 1
            lastWritten = key
        }
        out.append(UInt8(ascii: "]"))
        if let next {
            out.append(contentsOf: #","next":"#.utf8)
            out.append(contentsOf: DocumentValue.string(next).jsonBytes)
        }
        out.append(UInt8(ascii: "}"))
        return json(out)
    }

    /// Changes from now on as Server-Sent Events: first `event: subscribed` (data
    /// `{"collection"}`), then for each change `event: change`, data
    /// `{"key", "data", "meta", "event": {"type", "oldData", "timestamp"}, "matches"}`;
    /// `?filter=<JSON filter>` narrows them. Heartbeats as for event subscriptions.
    @Sendable func documentSubscribe(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context, scope: .read)
        let filter: DocumentValue
        if let text = Query(request.uri).string("filter") {
            do { filter = try DocumentValue.parse(text) } catch { throw APIError.badParameter("filter is not valid JSON: \(error)") }
        } else {
            filter = .object([:])
        }
        let principal = context.principal
        let state = self.state
        try state.reserveSubscriber(principal)
        let subscription: DocumentSubscription
        do {
            // A change stream may wait for a collection's first document: it opens the
            // collection, within the cap on open collections.
            subscription = try await state.documents.collection(collection).subscribe(filter)
        } catch {
            state.releaseSubscriber(principal)
            throw error
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer {
                subscription.cancel()
                state.releaseSubscriber(principal)
            }
            try await writer.write(LiveFrames.sseOpening)
            // Changes from here on reach this client: say so, so that it can start writing.
            try await writer.write(ByteBuffer(bytes: Array("event: subscribed\ndata: ".utf8)
                + DocumentValue.object(["collection": .string(collection)]).jsonBytes + Array("\n\n".utf8)))
            let items = merge(
                subscription.map { DocumentLiveItem.change($0) },
                AsyncTimerSequence(interval: state.heartbeat, clock: .continuous).map { _ in DocumentLiveItem.heartbeat },
                state.shutdown.stream().map { DocumentLiveItem.shutdown }
            )
            do {
                loop: for try await item in items {
                    switch item {
                    case .change(let change): try await writer.write(Handlers.sseFrame(change))
                    case .heartbeat: try await writer.write(LiveFrames.sseHeartbeat)
                    case .shutdown: break loop
                    }
                }
            } catch let error as StrataError {
                try await writer.write(LiveFrames.sseError(APIError(error)))
            }
            try await writer.finish(nil)
        })
    }

    static func sseFrame(_ change: DocumentChange) -> ByteBuffer {
        var event: [String: DocumentValue] = ["type": .string(change.event.type.rawValue), "timestamp": .string(change.event.timestamp)]
        event["oldData"] = change.event.oldData ?? .null
        let body: DocumentValue = .object([
            "key": .string(change.key),
            "data": change.data ?? .null,
            "meta": change.meta?.json ?? .null,
            "event": .object(event),
            "matches": .bool(change.matches),
        ])
        var out = Array("event: change\ndata: ".utf8)
        out.append(contentsOf: body.jsonBytes)
        out.append(contentsOf: "\n\n".utf8)
        return ByteBuffer(bytes: out)
    }

    // MARK: Helpers

    /// The `{collection}` parameter, for a principal that may use the whole collection: a key
    /// limited to a stream prefix may use a collection whose streams (`<collection>-…`) all
    /// start with that prefix.
    func collectionTarget(_ context: StrataRequestContext, scope: APIKey.Scope) throws(APIError) -> String {
        try require(scope, context)
        guard let raw = context.parameters.get("collection"), let collection = raw.removingPercentEncoding else {
            throw APIError.badParameter("the collection is missing from the path or not valid percent-encoding")
        }
        try Handlers.validateCollection(collection)
        if let prefix = context.principal.streamPrefix, !"\(collection)-".utf8.starts(with: prefix.utf8) {
            throw APIError.outsidePrefix("\(collection)-")
        }
        return collection
    }

    /// The `{collection}` and `{key}` parameters; the principal must cover the document's stream.
    func documentTarget(_ context: StrataRequestContext, scope: APIKey.Scope) throws(APIError) -> (String, String) {
        try require(scope, context)
        guard let rawCollection = context.parameters.get("collection"), let collection = rawCollection.removingPercentEncoding,
              let rawKey = context.parameters.get("key"), let key = rawKey.removingPercentEncoding else {
            throw APIError.badParameter("the collection or key is missing from the path or not valid percent-encoding")
        }
        try Handlers.validateCollection(collection)
        guard context.principal.covers(stream: "\(collection)-\(key)") else { throw APIError.outsidePrefix("\(collection)-\(key)") }
        return (collection, key)
    }

    /// A collection name from a path: checked before anything opens it (it can become a folder name).
    static func validateCollection(_ collection: String) throws(APIError) {
        do { try DocumentNaming.validateCollection(collection) } catch {
            throw APIError.badParameter("\(error)")
        }
    }

    /// The collection for a read: a collection that is not open and has no documents answers
    /// 404 without being opened (each opening replays the store).
    func existingCollection(_ collection: String) async throws -> DocumentStore {
        guard try await state.documents.hasCollection(collection) else {
            throw APIError(.notFound, code: "collection-not-found", "no collection \"\(collection)\": no document was ever stored in it",
                           details: [("collection", .string(collection))])
        }
        return try await state.documents.collection(collection)
    }

    /// The body as a JSON object.
    func documentBody(_ request: Request, what: String = "the document") async throws -> DocumentValue {
        let bytes = try await body(request)
        let value: DocumentValue
        do { value = try DocumentValue.parse(bytes) } catch { throw APIError.malformed("\(what): \(error)") }
        guard case .object = value else { throw APIError.malformed("\(what) must be a JSON object") }
        return value
    }
}

/// One thing to send on a document change stream.
enum DocumentLiveItem: Sendable {
    case change(DocumentChange)
    case heartbeat
    case shutdown
}

extension APIError {
    static func documentNotFound(collection: String, key: String) -> APIError {
        APIError(.notFound, code: "document-not-found", "no document \"\(key)\" in collection \"\(collection)\"",
                 details: [("collection", .string(collection)), ("key", .string(key))])
    }
}
