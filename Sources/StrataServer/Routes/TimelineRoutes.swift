import Foundation
import HTTPTypes
import Hummingbird
import Strata
import StrataDocuments

/// Documents' pasts over HTTP (docs/SERVER.md, "History, points in time, restores, snapshots and
/// changes"): a document's history, restoring a collection to a point in time, and the
/// collection's CDC changes as a page and live over SSE. Point-in-time reads are the `?at=`
/// of the document reads (DocumentRoutes.swift), built on ``pastState(_:at:)``.
extension Handlers {
    /// `GET /documents/{collection}/{key}/history?after=REVISION&limit=N` → `{"versions":
    /// [version…], "next"?}`, oldest first, a page cut by `limit` (at most `maxReadCount`) and by
    /// size, `next` its last revision; 404 `document-not-found` for a key never written.
    @Sendable func documentHistory(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (collection, key) = try documentTarget(context)
        let (after, limit) = try pageRequest(Query(request.uri))
        let versions = try await DocumentTimeline(store: state.store).history(of: key, in: collection, after: after, limit: limit)
        guard !versions.isEmpty || after > 0 else { throw APIError.documentNotFound(collection: collection, key: key) }
        return json(pageAnswer("versions", versions, limit: limit, encode: { $0.json.jsonBytes }, next: \.revision))
    }

    /// `POST /documents/{collection}/restore` with `{"at": POINT}` → the restore report.
    @Sendable func documentRestore(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        var members = try await documentBody(request, what: "the restore").objectValue ?? [:]
        let at = members.removeValue(forKey: "at")
        if let unknown = members.keys.first {
            throw APIError.malformed("unknown member \"\(unknown)\" in the restore: only \"at\" is allowed")
        }
        let point: PointInTime
        switch at {
        case .int(let position)? where position >= 0: point = .position(UInt64(position))
        case .string(let text)?: point = try Handlers.parsePoint(text, name: "at")
        case nil: throw APIError.malformed("\"at\" is missing in the restore")
        default: throw APIError.badParameter("at must be a position (a non-negative integer) or an ISO 8601 time (a string)")
        }
        let documents = try await state.documents.collection(collection)
        let timeline = DocumentTimeline(store: state.store)
        let report = if let cdc = recordingChanges(documents) { try await timeline.restore([cdc], to: point) }
                     else { try await timeline.restore([documents], to: point) }
        return json(report.json.jsonBytes)
    }

    /// `GET /documents/{collection}/changes?after=N&limit=N` → `{"changes": [change…], "next"?}`:
    /// `next`, the last bookmark given, when the page was full or cut by size.
    @Sendable func documentChanges(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let (after, limit) = try pageRequest(Query(request.uri))
        let changes = try await DocumentTimeline(store: state.store).changes(of: collection, after: after, limit: limit)
        return json(pageAnswer("changes", changes, limit: limit, encode: { $0.json.jsonBytes }, next: \.bookmark))
    }

    /// `GET /documents/{collection}/changes/subscribe?after=N`: the changes after bookmark N
    /// (`Last-Event-ID` wins), then live, as Server-Sent Events with the bookmark as `id:`, a
    /// `caught-up` marker and checkpoints, through ``LiveDelivery`` like every live connection.
    @Sendable func documentChangesSubscribe(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let collection = try collectionTarget(context)
        let lastEventID = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
        let start = try LiveRequest.resumePoint(lastEventID: lastEventID, after: Query(request.uri).uint("after")) ?? .start
        let principal = context.principal
        let state = self.state
        try state.reserveSubscriber(principal)
        let subscription = Subscription(store: state.store, target: .all(CDCChange.eventFilter(collection: collection)), start: start)
        return LiveDelivery.sse(state: state, principal: principal, encoding: .documents) { send in
            // An event of another collection's change stream (the prefix `cdc-users` also
            // matches `cdc-users.archive`) was examined: it moves the checkpoint only.
            let items = subscription.map { message throws -> LiveItem in
                guard case .event(let event) = message else { return .message(message) }
                return try CDCChange.decode(event, collection: collection).map { LiveItem.cdc($0) } ?? .message(.checkpoint(event.position))
            }
            try await LiveDelivery.forward(LiveDelivery.merged(items, state: state), send)
        }
    }

    // MARK: Helpers

    /// The `at` query parameter as a point in time, if given.
    func pointInTime(_ query: Query) throws(APIError) -> PointInTime? {
        try query.string("at").map { text throws(APIError) in try Handlers.parsePoint(text, name: "at") }
    }

    static func parsePoint(_ text: String, name: String) throws(APIError) -> PointInTime {
        do { return try PointInTime(parsing: text) } catch {
            throw APIError.badParameter("\(name): point in time \"\(text)\" is neither a position (digits) nor an ISO 8601 time such as 2026-11-23T23:59:01.123Z")
        }
    }

    /// A collection as it was at `point`, rebuilt from the log (one filtered scan of `$all`); a
    /// collection that never had a document is 404 `collection-not-found`, found without a scan.
    func pastState(_ collection: String, at point: PointInTime) async throws -> CollectionState {
        guard try await state.documents.hasCollection(collection) else { throw APIError.collectionNotFound(collection) }
        return try await DocumentTimeline(store: state.store).state(of: collection, at: point)
    }

    /// Writes `{"NAME":[…]` (the object left open) with the items' JSON, stopping before the
    /// item that would take the body over `limit` bytes (the first item always goes in): the one
    /// size cut of every paged document answer. Returns how many items were written; the
    /// caller adds its continuation (`next`, `nextOffset`) when that is fewer than it had.
    static func boundedArray<Items: Sequence>(_ name: String, _ items: Items, limit: Int,
                                              _ encode: (Items.Element) -> [UInt8]) -> (bytes: [UInt8], written: Int) {
        var out: [UInt8] = Array(#"{""#.utf8) + Array(name.utf8) + Array(#"":["#.utf8)
        var written = 0
        for item in items {
            let bytes = encode(item)
            if written > 0 && out.count + bytes.count + 1 > limit { break }
            if written > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: bytes)
            written += 1
        }
        out.append(UInt8(ascii: "]"))
        return (out, written)
    }

    /// A paged request's `?after=N&limit=N`: where to continue (default 0) and how many at most
    /// (default and cap `maxReadCount`; at least 1).
    func pageRequest(_ query: Query) throws -> (after: UInt64, limit: Int) {
        let after = try query.uint("after") ?? 0
        let maxCount = state.limits.maxReadCount
        let limit = Int(clamping: min(try query.uint("limit") ?? UInt64(maxCount), UInt64(maxCount)))
        guard limit > 0 else { throw APIError.badParameter("limit must be at least 1") }
        return (after, limit)
    }

    /// `{"NAME":[…],"next"?}`: a page cut by `limit` and by size (``boundedArray(_:_:limit:_:)``);
    /// `next`, the last item's key, when the page was cut or full (pass it as `after`).
    func pageAnswer<Item>(_ name: String, _ items: [Item], limit: Int, encode: (Item) -> [UInt8], next: (Item) -> UInt64) -> [UInt8] {
        var (out, written) = Handlers.boundedArray(name, items, limit: state.limits.maxResponseBytes, encode)
        if written > 0 && (written < items.count || items.count == limit) {
            out.append(contentsOf: #","next":"#.utf8)
            out.append(contentsOf: String(next(items[written - 1])).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Appends `,"position":P` to an object being written, when `position` is given.
    static func appendPosition(_ position: UInt64?, to out: inout [UInt8]) {
        guard let position else { return }
        out.append(contentsOf: #","position":"#.utf8)
        out.append(contentsOf: String(position).utf8)
    }
}
