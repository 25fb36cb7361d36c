import Foundation
import Hummingbird
import Strata
import StrataConsumers
import StrataJSONShapes
import StrataJSON

/// Health, stats, metrics, consumers, the OpenAPI document and the admin page.
extension Handlers {
    @Sendable func live(_ request: Request, context: StrataRequestContext) async throws -> Response {
        json(Array(#"{"status":"live"}"#.utf8))
    }

    /// 200 when the store answers and no background consumer has stopped; otherwise 503
    /// `not-ready` with every reason in `details.reasons` (`shutting-down` while shutting down).
    @Sendable func ready(_ request: Request, context: StrataRequestContext) async throws -> Response {
        if state.shutdown.isTriggered {
            throw APIError(.serviceUnavailable, code: "shutting-down", "the server is shutting down")
        }
        var reasons: [String] = []
        var head: UInt64 = 0
        do {
            head = try await state.store.headPosition()
            state.health.recovered("store")
        } catch {
            // A store that stopped (storeClosed after an I/O failure) is recorded as stopped;
            // any other failure to answer is reported without being counted as a stop.
            state.health.storeFailed(error)
            if case .storeClosed? = error as? StrataError {} else { reasons.append("store: \(error)") }
        }
        reasons = state.health.reasons + reasons
        guard reasons.isEmpty else {
            throw APIError(.serviceUnavailable, code: "not-ready", "not ready: " + reasons.joined(separator: "; "),
                           details: [("reasons", .strings(reasons))])
        }
        var out = JSONWriter()
        out.beginObject()
        out.field("status", "ready")
        out.field("headPosition", head)
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func stats(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stats = try await state.store.stats()
        let identity = try await state.store.identity()
        state.metrics.sawHead(stats.headPosition)
        var out = JSONWriter()
        out.beginObject()
        out.field("identity", identity.value)
        out.field("headPosition", stats.headPosition)
        out.field("firstPosition", stats.firstPosition)
        out.key("streamCount"); out.number(stats.streamCount)
        out.key("bytesOnDisk"); out.number(stats.bytesOnDisk)
        out.key("details")
        out.beginObject()
        for key in stats.details.keys.sorted() { out.field(key, stats.details[key]!) }
        out.endObject()
        out.key("appendsPerSecond"); out.number(state.metrics.appendsPerSecond)
        out.key("subscribers"); out.number(state.subscribers.total)
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func metrics(_ request: Request, context: StrataRequestContext) async throws -> Response {
        if let registry = state.configuration.persistentSubscriptions {
            var all: [PersistentSubscriptionStats] = []
            for name in registry.runningHere() {
                // A group let go in between has no figures here any more.
                if let group = try? await registry.subscription(name), let stats = try? await group.stats() { all.append(stats) }
            }
            state.metrics.recordSubscriptions(all)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: state.metrics.exposition())))
    }

    @Sendable func consumers(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let head = try await state.store.headPosition()
        var out = JSONWriter()
        out.beginObject()
        out.field("headPosition", head)
        out.key("consumers")
        out.beginArray()
        if let directory = state.configuration.checkpointDirectory, FileManager.default.fileExists(atPath: directory) {
            let checkpoints = try FileCheckpointStore(directory: directory)
            for name in try checkpoints.consumers().sorted() {
                let checkpoint = try checkpoints.loadCheckpoint(name)
                out.beginObject()
                out.field("name", name)
                out.key("checkpoint")
                if let checkpoint { out.number(checkpoint) } else { out.null() }
                out.field("lag", head - min(head, checkpoint ?? 0))
                out.endObject()
            }
        }
        out.endArray()
        out.endObject()
        return json(out.bytes)
    }

    @Sendable func openAPI(_ request: Request, context: StrataRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: state.resources.openAPI)))
    }

    @Sendable func adminIndex(_ request: Request, context: StrataRequestContext) async throws -> Response {
        try adminResponse("index.html")
    }

    @Sendable func adminFile(_ request: Request, context: StrataRequestContext) async throws -> Response {
        try adminResponse(context.parameters.get("file") ?? "")
    }

    private func adminResponse(_ name: String) throws -> Response {
        guard let file = state.resources.admin[name] else { throw APIError(.notFound, code: "not-found", "no admin file \"\(name)\"") }
        return Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
