import Foundation
import Hummingbird
import Strata
import StrataJSON
import StrataJSONShapes

/// Scavenging and erasure (docs/SERVER.md, "Scavenging and erasure"): admin keys only.
extension Handlers {
    /// The server's store as one that can scavenge and erase, or 501 `unsupported`.
    private func maintainableStore() throws -> any MaintainableEventStore {
        guard let store = state.store as? any MaintainableEventStore else {
            throw StrataError.unsupported("scavenging and erasure: this server's store cannot reclaim space or erase streams")
        }
        return store
    }

    /// `POST /scavenge` with `{}`: removes the events no read returns; answers the report.
    @Sendable func scavenge(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let bytes = try await body(request)
        if !bytes.isEmpty { try RequestBodies.check(try RequestBodies.object(bytes), allowed: [], in: "the scavenge request") }
        let report = try await maintainableStore().scavenge()
        return json(MaintenanceJSON.encode(report))
    }

    /// `POST /streams/{stream}/erase` with an optional `{"reason": "…"}`: erases the stream.
    @Sendable func eraseStream(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try coveredStream(context)
        let bytes = try await body(request)
        var reason = ""
        if !bytes.isEmpty {
            let fields = try RequestBodies.object(bytes)
            try RequestBodies.check(fields, allowed: ["reason"], in: "the erasure")
            reason = try RequestBodies.string(fields, "reason", in: "the erasure") ?? ""
        }
        let report = try await maintainableStore().erase(stream, reason: reason)
        return json(MaintenanceJSON.encode(report))
    }
}
