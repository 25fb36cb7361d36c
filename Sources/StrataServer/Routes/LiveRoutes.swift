import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Strata
import StrataJSONShapes

/// Server-Sent Events and WebSocket subscriptions.
extension Handlers {
    @Sendable func subscribe(_ request: Request, context: StrataRequestContext) async throws -> Response {
        let stream = try streamParameter(context)
        let lastEventID = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }
        let live = try LiveRequest(stream: stream, query: Query(request.uri), resumeAfter: lastEventID, principal: context.principal)
        let state = self.state
        try state.reserveSubscriber(context.principal)
        return LiveDelivery.sse(state: state, principal: context.principal, encoding: live.encoding) { send in
            try await live.pump(state: state, send: send)
        }
    }

    /// `/ws/subscribe/{stream}` reached without an upgrade: the upgrade hook declined it. Runs
    /// the same checks so that the client learns why (401, 403, 429), or asks for an upgrade.
    @Sendable func webSocketWithoutUpgrade(_ request: Request, context: StrataRequestContext) async throws -> Response {
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
            // The upgrade is decided before routing, so the route's scope is checked here.
            try ScopeMiddleware.check(principal, .read)
            live = try LiveRequest(stream: stream, query: query, resumeAfter: query.string("lastEventId"), principal: principal)
            try state.reserveSubscriber(principal)
        } catch {
            // A WebSocket client cannot read the body of a refused upgrade: accept it, send the
            // reason as an error frame and close with "policy violation".
            let refusal = APIError.from(error)
            state.metrics.rejectedRequests.increment()
            return .upgrade([:]) { _, outbound, _ in
                try? await outbound.write(.text(LiveEncoding.webSocketError(refusal)))
                try? await outbound.close(.policyViolation, reason: refusal.code)
            }
        }
        let state = self.state
        return .upgrade([:]) { inbound, outbound, _ in
            await LiveDelivery.webSocket(state: state, principal: principal, encoding: live.encoding, inbound: inbound, outbound: outbound) { send in
                try await live.pump(state: state, send: send)
            }
        }
    }
}
