import Foundation
import Hummingbird
import Strata
import StrataDocuments

/// Document snapshots over HTTP: `/snapshots/{storeId}[/{name}[/restore]]` (docs/SERVER.md,
/// "History, points in time, restores, snapshots and changes"), the files of docs/CDC.md in the
/// server's ``ServerConfiguration/snapshotsDirectory``. The path after `/snapshots/` is the
/// snapshot's key without its `snapshots/` folder.
extension Handlers {
    /// `POST /snapshots/{storeId}` with `{"collections": [...]}` → 201 the snapshot's info.
    @Sendable func snapshotCreate(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let snapshots = try snapshotFolder(context)
        let storeId = try snapshotPathPart(context, "storeId")
        var members = try await documentBody(request, what: "the snapshot request").objectValue ?? [:]
        let listed = members.removeValue(forKey: "collections")
        if let unknown = members.keys.first {
            throw APIError.malformed("unknown member \"\(unknown)\" in the snapshot request: only \"collections\" is allowed")
        }
        guard case .array(let values)? = listed else { throw APIError.malformed("\"collections\" must be an array of collection names") }
        var names: [String] = []
        for value in values {
            guard case .string(let name) = value else { throw APIError.malformed("\"collections\" must be an array of collection names") }
            try Handlers.validateCollection(name)
            names.append(name)
        }
        // Checked before any collection opens (the library checks again).
        guard !names.isEmpty else { throw APIError.badParameter("a snapshot needs at least one collection") }
        guard Set(names).count == names.count else { throw APIError.badParameter("a snapshot names a collection twice: \(names)") }
        var collections: [DocumentStore] = []
        for name in names { collections.append(try await state.documents.collection(name)) }
        let info = try await snapshots.create(storeId: storeId, collections: collections)
        return json(info.json.jsonBytes, status: .created)
    }

    /// `GET /snapshots/{storeId}?limit=N` → `{"snapshots": [{key, timestamp, bytes}…]}`, newest first.
    @Sendable func snapshotList(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let snapshots = try snapshotFolder(context)
        let storeId = try snapshotPathPart(context, "storeId")
        let limit = try Query(request.uri).uint("limit").map { Int(clamping: $0) }
        let entries = try snapshots.list(storeId: storeId, limit: limit)
        return json(DocumentValue.object(["snapshots": .array(entries.map(\.json))]).jsonBytes)
    }

    /// `GET /snapshots/{storeId}/{name}` → the snapshot's info plus `"data"` (collection → key → document).
    @Sendable func snapshotRead(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (snapshots, key) = try existingSnapshot(context)
        // A snapshot is read whole: one larger than an answer may be is refused before it is loaded.
        let size = try snapshots.byteCount(key)
        guard size <= state.limits.maxResponseBytes else {
            throw StrataError.unsupported("reading snapshot \(key) over HTTP: it holds \(size) bytes, more than an answer may (maxResponseBytes \(state.limits.maxResponseBytes)); read it with `strata documents snapshot read` or from the snapshots folder, or restore it")
        }
        var answer = try snapshots.info(key).json
        answer["data"] = .object(try snapshots.read(key).mapValues { .object($0) })
        return json(answer.jsonBytes)
    }

    /// `POST /snapshots/{storeId}/{name}/restore` (body `{}` or none) → the restore report.
    @Sendable func snapshotRestore(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (snapshots, key) = try existingSnapshot(context)
        let bytes = try await body(request)
        if !bytes.isEmpty { try RequestBodies.check(try RequestBodies.object(bytes), allowed: [], in: "the snapshot restore") }
        var targets: [(DocumentStore, CDCOptions?)] = []
        for name in try snapshots.info(key).collections {
            let documents = try await state.documents.collection(name)
            targets.append((documents, recordingChanges(documents)?.options))
        }
        let report = try await snapshots.restore(key, targets: targets)
        return json(report.json.jsonBytes)
    }

    /// `DELETE /snapshots/{storeId}/{name}` → 204.
    @Sendable func snapshotDelete(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let (snapshots, key) = try existingSnapshot(context)
        try snapshots.delete(key)
        return noContent()
    }

    // MARK: Helpers

    /// The server's snapshots, for a principal that may use them: 501 `unsupported` without a
    /// snapshots directory; 403 for a key limited to a stream prefix (snapshots span collections).
    private func snapshotFolder(_ context: StrataRequestContext) throws -> DocumentSnapshots {
        if let prefix = context.principal.streamPrefix {
            throw APIError(.forbidden, code: "forbidden", "this API key is limited to the stream prefix \"\(prefix)\": snapshots span collections and need a key without one")
        }
        guard let snapshots = state.snapshots else {
            throw StrataError.unsupported("document snapshots: this server has no snapshots directory (snapshotsDirectory in the configuration file, or strata serve --snapshots DIR)")
        }
        return snapshots
    }

    private func snapshotPathPart(_ context: StrataRequestContext, _ name: String) throws(APIError) -> String {
        guard let raw = context.parameters.get(name), let value = raw.removingPercentEncoding else {
            throw APIError.badParameter("the snapshot \(name) is missing from the path or not valid percent-encoding")
        }
        return value
    }

    /// The snapshot the path names: 400 for a bad store id or name, 404 `snapshot-not-found`
    /// when its file is not there.
    private func existingSnapshot(_ context: StrataRequestContext) throws -> (DocumentSnapshots, String) {
        let snapshots = try snapshotFolder(context)
        let key = "snapshots/\(try snapshotPathPart(context, "storeId"))/\(try snapshotPathPart(context, "name"))"
        guard try snapshots.exists(key) else {
            throw APIError(.notFound, code: "snapshot-not-found", "there is no snapshot \(key)", details: [("key", .string(key))])
        }
        return (snapshots, key)
    }
}
