import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Strata

/// Strata's HTTP API as routes for your own Hummingbird application: the same endpoints,
/// security model and live subscriptions as ``StrataHTTPServer`` (which is built on it), beside
/// your own routes.
///
/// ```swift
/// let routes = try StrataRoutes(store: store, configuration: ServerConfiguration(apiKeys: keys))
/// let router = Router(context: StrataRequestContext.self)
/// router.get("/hello") { _, _ in "hello" }          // your routes
/// routes.add(to: router)                             // Strata's: /streams, /subscribe, /documents …
/// let app = Application(
///     router: router,
///     server: .http1WebSocketUpgrade { head, _, _ in routes.webSocketUpgrade(head) },
///     configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
/// try await ServiceGroup(services: [app, routes], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// Run it as a service beside the application (it runs the shared live tail and the document
/// views, and on graceful shutdown ends subscriptions and saves the views). It does not close
/// the store: its owner does. The server's connection limits, header limits and TLS settings
/// (``ServerConfiguration/limits``, ``ServerConfiguration/tls``) belong to the HTTP server, so
/// they apply only when ``StrataHTTPServer`` runs it; your application's server sets its own.
public final class StrataRoutes: Service, Sendable {
    let state: ServerState

    /// Routes over `store`.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for invalid settings.
    public init(store: any EventStore, configuration: ServerConfiguration = ServerConfiguration(), logger: Logger = Logger(label: "strata.server")) throws {
        try configuration.validate()
        state = try ServerState(store: store, configuration: configuration, logger: logger)
    }

    /// Adds Strata's routes to `router`.
    ///
    /// By default the guard (browser policy, API keys, rate limit, errors as JSON; docs/SERVER.md,
    /// "Security model") applies to Strata's routes only, in a group of their own, and your
    /// routes keep their middleware. With `guardingEveryRoute` it applies to every request the
    /// router sees, yours included, as in ``StrataHTTPServer``: unknown paths then get Strata's
    /// JSON errors, and CORS preflights are answered.
    public func add(to router: Router<StrataRequestContext>, guardingEveryRoute: Bool = false) {
        let guardMiddleware = GuardMiddleware(state: state)
        if guardingEveryRoute {
            router.add(middleware: guardMiddleware)
            Handlers(state: state).register(on: router)
        } else {
            Handlers(state: state).register(on: router.group().add(middleware: guardMiddleware))
        }
    }

    /// Whether a request head upgrades to a WebSocket subscription (`/ws/subscribe/{stream}`),
    /// and the subscription if it does: pass it to the application's server as
    /// `.http1WebSocketUpgrade { head, _, _ in routes.webSocketUpgrade(head) }`.
    public func webSocketUpgrade(_ head: HTTPRequest) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        WebSocketSubscriptions(state: state).shouldUpgrade(head)
    }

    /// Runs the shared live tail, the document views and the persistent subscription groups
    /// (``ServerConfiguration/persistentSubscriptions``) until graceful shutdown (or
    /// cancellation); then ends the subscriptions, stops the groups (saving their checkpoints)
    /// and saves the views' snapshots.
    public func run() async throws {
        try await runningBackground {
            try await gracefulShutdown()
        }
    }

    /// Runs `body` with the live tail and the document views running; on graceful shutdown the
    /// subscriptions end, and when `body` returns the views are saved.
    func runningBackground(_ body: () async throws -> Void) async throws {
        let state = self.state
        let subscriptions = state.configuration.persistentSubscriptions
        subscriptions?.start()
        let tail = Task { await state.tail.run() }
        defer { tail.cancel() }
        let documentsFollower = Task { await state.followDocuments() }
        defer { documentsFollower.cancel() }
        do {
            try await withGracefulShutdownHandler {
                try await body()
            } onGracefulShutdown: {
                state.logger.info("Strata shutting down: closing subscriptions, finishing requests in flight")
                state.beginShutdown()
            }
        } catch {
            state.beginShutdown()
            await subscriptions?.stop()
            try? await state.documents.closeAll()
            throw error
        }
        state.beginShutdown()
        // Saves the checkpoints of the persistent subscription groups run here and lets other instances take them.
        await subscriptions?.stop()
        // Saves the document views' snapshots; the store itself is closed by its owner.
        try? await state.documents.closeAll()
    }
}
