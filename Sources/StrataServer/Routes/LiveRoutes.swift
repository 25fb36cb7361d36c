import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Strata
import StrataWire

/// Server-Sent Events and WebSocket subscriptions.
extension Handlers {
    @Sendable func subscribe(_ request: Request, context: StrataRequestContext) async throws -> Response {
        try require(.read, context)
        let stream = try streamParameter(context)
        let lastEventID = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
        let live = try LiveRequest(stream: stream, query: Query(request.uri), resumeAfter: lastEventID, principal: context.principal)
        let principal = context.principal
        let state = self.state
        try state.reserveSubscriber(principal)
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { state.releaseSubscriber(principal) }
            try await writer.write(LiveFrames.sseOpening)
            do {
                try await live.pump(state: state) { item in
                    switch item {
                    case .message(let message):
                        if case .event(let event) = message { state.metrics.delivered(position: event.position) }
                        try await writer.write(LiveFrames.sse(message, isAll: live.isAll, style: live.style))
                    case .shared(let entry):
                        state.metrics.delivered(position: entry.event.position)
                        if live.style == .api, let frame = entry.sseFrame {
                            try await writer.write(frame)
                        } else {
                            try await writer.write(LiveFrames.sse(.event(entry.event), isAll: true, style: live.style))
                        }
                    case .heartbeat:
                        try await writer.write(LiveFrames.sseHeartbeat)
                    case .shutdown:
                        break
                    }
                }
            } catch let error as StrataError {
                try await writer.write(LiveFrames.sseError(APIError(error)))
            }
            try await writer.finish(nil)
        })
    }

    /// `/ws/subscribe/{stream}` reached without an upgrade: the upgrade hook declined it. Runs
    /// the same checks so that the client learns why (401, 403, 429), or asks for an upgrade.
    @Sendable func webSocketWithoutUpgrade(_ request: Request, context: StrataRequestContext) async throws -> Response {
        try require(.read, context)
        let stream = try streamParameter(context)
        _ = try LiveRequest(stream: stream, query: Query(request.uri), resumeAfter: Query(request.uri).string("lastEventId"),
                            principal: context.principal)
        if state.subscribers.total >= state.limits.maxSubscribersPerKey {
            try state.reserveSubscriber(context.principal)
            state.releaseSubscriber(context.principal)
        }
        throw APIError(.upgradeRequired, code: "upgrade-required", "this endpoint speaks WebSocket: send an Upgrade: websocket request")
    }
}

/// Decides WebSocket upgrades (before the router sees the request) and runs the subscription.
struct WebSocketSubscriptions: Sendable {
    let state: ServerState

    func shouldUpgrade(_ head: HTTPRequest) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let uri = URI(head.path ?? "/")
        let prefix = "/ws/subscribe/"
        guard uri.path.hasPrefix(prefix) else { return .dontUpgrade }
        let raw = String(uri.path.dropFirst(prefix.count))
        guard !raw.contains("/"), let stream = raw.removingPercentEncoding else { return .dontUpgrade }
        // A cross-origin page (or a rebinding host) gets no upgrade: the request goes on as a
        // plain GET, which the guard middleware refuses with 403.
        do { _ = try state.browserPolicy.admit(head) } catch { return .dontUpgrade }
        let query = Query(uri)
        let principal: Principal
        let live: LiveRequest
        do {
            principal = try state.admit(headers: head.headerFields, query: query.parameters, isGet: true)
            guard principal.allows(.read) else { throw APIError.missingScope(.read) }
            live = try LiveRequest(stream: stream, query: query, resumeAfter: query.string("lastEventId"), principal: principal)
            try state.reserveSubscriber(principal)
        } catch {
            // A WebSocket client cannot read the body of a refused upgrade: accept it, send the
            // reason as an error frame and close with "policy violation".
            let refusal = APIError.from(error)
            state.metrics.rejectedRequests.increment()
            return .upgrade([:]) { _, outbound, _ in
                try? await outbound.write(.text(LiveFrames.errorFrame(refusal)))
                try? await outbound.close(.policyViolation, reason: refusal.code)
            }
        }
        let state = self.state
        return .upgrade([:]) { inbound, outbound, _ in
            defer { state.releaseSubscriber(principal) }
            await withTaskGroup(of: Void.self) { group in
                // The client closing its side ends the subscription.
                group.addTask {
                    do { for try await _ in inbound {} } catch {}
                }
                group.addTask {
                    do {
                        try await live.pump(state: state) { item in
                            switch item {
                            case .message(let message):
                                if case .event(let event) = message { state.metrics.delivered(position: event.position) }
                                try await outbound.write(.text(LiveFrames.frame(message, isAll: live.isAll, style: live.style)))
                            case .shared(let entry):
                                state.metrics.delivered(position: entry.event.position)
                                try await outbound.write(.text(LiveFrames.frame(.event(entry.event), isAll: true, style: live.style)))
                            case .heartbeat:
                                try await outbound.write(.text(LiveFrames.heartbeatFrame))
                            case .shutdown:
                                break
                            }
                        }
                    } catch let error as StrataError {
                        try? await outbound.write(.text(LiveFrames.errorFrame(APIError(error))))
                    } catch {}
                    try? await outbound.close(.normalClosure, reason: nil)
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
