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
    // MARK: Writes

    /// The collection's CDC wrapper when the server records its changes (`cdcCollections`).
    func recordingChanges(_ documents: DocumentStore) -> CDCCollection? {
        state.configuration.cdcCollections.contains(documents.collection) ? CDCCollection(documents, options: CDCOptions(trackPrevious: true)) : nil
    }

    /// The document under `key` right after this instance wrote it (the view applied the write).
    private func written(_ documents: DocumentStore, _ key: String) throws -> Document {
        guard let document = try documents.get(key) else {
            throw StrataError.io(path: documents.collection, operation: "read back a written document", reason: "\(key) is not in the view after its write")
        }
        return document
    }

    @Sendable func documentPut(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context)
        let data = try await documentBody(request)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        let documents = try await state.documents.collection(collection)
        let document: Document
        if let cdc = recordingChanges(documents) {
            document = try written(documents, try await cdc.put(key, data, expectedChanges: expected).docId)
        } else {
            document = try await documents.put(key, data, expectedChanges: expected)
        }
        return json(document.json.jsonBytes)
    }

    @Sendable func documentPatch(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context)
        let partial = try await documentBody(request)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        do {
            let documents = try await state.documents.collection(collection)
            let document: Document
            if let cdc = recordingChanges(documents) {
                document = try written(documents, try await cdc.patch(key, partial, expectedChanges: expected).docId)
            } else {
                document = try await documents.patch(key, partial, expectedChanges: expected)
            }
            return json(document.json.jsonBytes)
        } catch StrataError.streamNotFound {
            throw APIError.documentNotFound(collection: collection, key: key)
        }
    }

    @Sendable func documentDelete(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context)
        let expected = try Query(request.uri).uint("expectedChanges").map { Int(clamping: $0) }
        let documents = try await state.documents.collection(collection)
        let deleted: Bool
        if let cdc = recordingChanges(documents) {
            deleted = try await cdc.delete(key, expectedChanges: expected) != nil
        } else {
            deleted = try await documents.delete(key, expectedChanges: expected)
        }
        return json(DocumentValue.object(["deleted": .bool(deleted)]).jsonBytes)
    }

    @Sendable func documentInsert(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let data = try await documentBody(request)
        let documents = try await state.documents.collection(collection)
        let document: Document
        if let cdc = recordingChanges(documents) {
            // The same key insert gives: a new lower-case UUID that must not exist yet.
            document = try written(documents, try await cdc.put(UUID().uuidString.lowercased(), data, expectedChanges: 0).docId)
        } else {
            document = try await documents.insert(data)
        }
        return json(document.json.jsonBytes, status: .created)
    }

    // MARK: Reads

    /// The document, or with `?at=POINT` the document as it was then.
    @Sendable func documentGet(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context)
        let found: Document?
        if let point = try pointInTime(Query(request.uri)) {
            found = try await pastState(collection, at: point).get(key)
        } else {
            found = try await existingCollection(collection).get(key)
        }
        guard let document = found else {
            throw APIError.documentNotFound(collection: collection, key: key)
        }
        return json(document.json.jsonBytes)
    }

    /// `{"filter": {…}, "sort": …, "limit": n, "offset": n, "project": […]}` → `{"documents": [{data, meta}…]}`;
    /// with `?at=POINT`, over the collection as it was then, plus `"position"`.
    @Sendable func documentQuery(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let point = try pointInTime(Query(request.uri))
        var members = try await documentBody(request, what: "the query").objectValue ?? [:]
        let filter = members.removeValue(forKey: "filter") ?? .object([:])
        let options = try QueryOptions(json: .object(members))
        let documents: [Document]
        var position: UInt64?
        if let point {
            let past = try await pastState(collection, at: point)
            documents = try past.query(filter, options: options)
            position = past.position
        } else {
            documents = try await existingCollection(collection).query(filter, options: options)
        }
        // Cut by size as well as by `limit`: `nextOffset` (when present) is the offset that
        // continues a cut page.
        var (out, written) = Handlers.boundedArray("documents", documents, limit: state.limits.maxResponseBytes) { $0.json.jsonBytes }
        if written < documents.count {
            out.append(contentsOf: #","nextOffset":"#.utf8)
            out.append(contentsOf: String(options.offset + written).utf8)
        }
        Handlers.appendPosition(position, to: &out)
        out.append(UInt8(ascii: "}"))
        return json(out)
    }

    /// `{"filter": {…}}` → `{"count": n}`; with `?at=POINT`, as it was then, plus `"position"`.
    @Sendable func documentCount(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let point = try pointInTime(Query(request.uri))
        let members = try await documentBody(request, what: "the count").objectValue ?? [:]
        if let unknown = members.keys.first(where: { $0 != "filter" }) {
            throw APIError.malformed("unknown member \"\(unknown)\" in the count: only \"filter\" is allowed")
        }
        let filter = members["filter"] ?? .object([:])
        var answer: [String: DocumentValue] = [:]
        if let point {
            let past = try await pastState(collection, at: point)
            answer["count"] = .int(Int64(try past.count(filter)))
            answer["position"] = .int(Int64(clamping: past.position))
        } else {
            answer["count"] = .int(Int64(try await existingCollection(collection).count(filter)))
        }
        return json(DocumentValue.object(answer).jsonBytes)
    }

    /// `?pattern=<regex>` or `?glob=<glob>` (neither: every key), `?after=<key>` →
    /// `{"keys": […], "next"?: <key>}`: `next` (the last key given) continues a page cut at
    /// ``ServerLimits/maxResponseBytes``. With `?at=POINT`, the keys then, plus `"position"`.
    @Sendable func documentKeys(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let query = Query(request.uri)
        let point = try pointInTime(query)
        let pattern = query.string("pattern"), glob = query.string("glob")
        if pattern != nil && glob != nil { throw APIError.badParameter("give pattern or glob, not both") }
        let keys: [String]
        var position: UInt64?
        if let point {
            let past = try await pastState(collection, at: point)
            keys = try pattern.map { try past.keys(matching: $0) } ?? glob.map { try past.keys(glob: $0) } ?? past.keys()
            position = past.position
        } else {
            let store = try await existingCollection(collection)
            keys = try pattern.map { try store.keys(matching: $0) } ?? glob.map { try store.keys(glob: $0) } ?? store.keys()
        }
        // Sorted by UTF-8 bytes: `after` continues a page that was cut by size (its `next`).
        let after = query.string("after")
        let page = keys.filter { key in after.map { $0.utf8.lexicographicallyPrecedes(key.utf8) } ?? true }
        var (out, written) = Handlers.boundedArray("keys", page, limit: state.limits.maxResponseBytes) { DocumentValue.string($0).jsonBytes }
        if written < page.count {
            out.append(contentsOf: #","next":"#.utf8)
            out.append(contentsOf: DocumentValue.string(page[written - 1]).jsonBytes)
        }
        Handlers.appendPosition(position, to: &out)
        out.append(UInt8(ascii: "}"))
        return json(out)
    }

    /// Changes from now on as Server-Sent Events: first `event: subscribed` (data
    /// `{"collection"}`), then for each change `event: change`, data
    /// `{"key", "data", "meta", "event": {"type", "oldData", "timestamp"}, "matches"}`;
    /// `?filter=<JSON filter>` narrows them. Heartbeats as for event subscriptions.
    @Sendable func documentSubscribe(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
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
        // Changes from here on reach this client: say so (after the opening), so that it can start writing.
        let subscribed = LiveEncoding.sse(event: "subscribed", data: DocumentValue.object(["collection": .string(collection)]).jsonBytes)
        return LiveDelivery.sse(state: state, principal: principal, encoding: .documents, prelude: [subscribed],
                                cleanup: { subscription.cancel() }) { send in
            try await LiveDelivery.forward(LiveDelivery.merged(subscription.map { LiveItem.change($0) }, state: state), send)
        }
    }

    // MARK: Helpers

    /// The `{collection}` parameter, for a principal that may use the whole collection: a key
    /// limited to a stream prefix may use a collection whose streams (`<collection>-…`) all
    /// start with that prefix.
    func collectionTarget(_ context: StrataRequestContext) throws(APIError) -> String {
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
    func documentTarget(_ context: StrataRequestContext) throws(APIError) -> (String, String) {
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
        guard try await state.documents.hasCollection(collection) else { throw APIError.collectionNotFound(collection) }
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

extension APIError {
    static func collectionNotFound(_ collection: String) -> APIError {
        APIError(.notFound, code: "collection-not-found", "no collection \"\(collection)\": no document was ever stored in it",
                 details: [("collection", .string(collection))])
    }

    static func documentNotFound(collection: String, key: String) -> APIError {
        APIError(.notFound, code: "document-not-found", "no document \"\(key)\" in collection \"\(collection)\"",
                 details: [("collection", .string(collection)), ("key", .string(key))])
    }
}
