import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Strata
import Synchronization

/// An HTTP server over any ``EventStore``: REST appends and reads, SSE and WebSocket
/// subscriptions, ingest, health, Prometheus metrics and the admin page (docs/SERVER.md,
/// docs/openapi.yaml). It is a swift-service-lifecycle `Service`: on graceful shutdown it ends
/// its subscriptions, stops accepting connections and finishes the requests in flight. It does
/// not close the store: its owner does, after ``run()`` returns.
///
/// ```swift
/// let server = try StrataHTTPServer(store: InMemoryEventStore(), configuration: ServerConfiguration(port: 0))
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class StrataHTTPServer: Service, Sendable {
    let routes: StrataRoutes
    /// What the server shares with other protocols' servers over the same store (StrataKurrent's gRPC).
    package var state: ServerState { routes.state }
    /// The address actually bound (loopback when no key is configured).
    public let host: String
    private let listening: ListeningPort

    /// Creates a server.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for invalid settings.
    public init(store: any EventStore, configuration: ServerConfiguration, logger: Logger = Logger(label: "strata.server")) throws {
        try configuration.validate()
        var configuration = configuration
        let host = StrataHTTPServer.boundHost(configuration)
        if host != configuration.host {
            logger.warning("no API key is configured: binding to 127.0.0.1 instead of \(configuration.host); configure keys to serve other hosts")
            configuration.host = host
        }
        self.host = configuration.host
        self.listening = ListeningPort(host: configuration.host)
        self.routes = try StrataRoutes(store: store, configuration: configuration, logger: logger)
    }

    /// The address a server with `configuration` binds: its `host`, or 127.0.0.1 when no API
    /// key is configured and `host` is not a loopback address.
    public static func boundHost(_ configuration: ServerConfiguration) -> String {
        configuration.apiKeys.isEmpty && !isLoopback(configuration.host) ? "127.0.0.1" : configuration.host
    }

    /// Whether an address is a loopback address.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The port the server listens on, once it runs (see ``waitUntilRunning()``).
    public var port: Int? { listening.port }

    /// Waits until the server listens and returns its port.
    /// - Throws: when the server failed to start.
    public func waitUntilRunning() async throws -> Int { try await listening.wait() }

    /// The server's TLS settings: the configured certificate chain and key, TLS 1.2 or newer
    /// (``ServerConfiguration/TLSFiles/minimumVersion``), and for TLS 1.2 only forward-secret
    /// AEAD cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305).
    static func tlsConfiguration(_ tls: ServerConfiguration.TLSFiles) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.minimumVersion == "1.3" ? .tlsv13 : .tlsv12
        configuration.cipherSuiteValues = [
            .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        return configuration
    }

    /// Runs until cancelled or until graceful shutdown completes.
    public func run() async throws {
        let state = self.state
        let configuration = state.configuration
        let router = Router(context: StrataRequestContext.self)
        let routes = self.routes
        // First, so that a request the guard refuses has its span too. A key given as a query
        // parameter (`api_key`, for a GET) never reaches the collector.
        if configuration.tracing != nil { router.add(middleware: TracingMiddleware(redactingQueryParameters: [Authenticator.queryParameter])) }
        routes.add(to: router, guardingEveryRoute: true)
        let limits = configuration.limits
        var http1 = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(limits.idleTimeoutSeconds * 1000)))
        http1.httpDecoder = .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes,
                                  maxHeaderFieldCount: limits.maxHeaderCount)
        let idleTimeout = TimeAmount.milliseconds(Int64(limits.idleTimeoutSeconds * 1000))
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(http1: http1, ws: .init())
        let maxHeadBytes = limits.maxHeaderBytes
        var server = HTTPServerBuilder { responder in
            FirstRequestGuard(base: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: channelConfiguration) { head, _, _ in
                routes.webSocketUpgrade(head)
            }, timeout: idleTimeout, maxHeadBytes: maxHeadBytes)
        }
        if let tls = configuration.tls {
            do {
                server = try .tls(server, tlsConfiguration: try StrataHTTPServer.tlsConfiguration(tls))
            } catch {
                listening.failed(error)
                throw StrataError.invalidArgument("cannot load the TLS certificate or key: \(error)")
            }
        }
        let app = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                                                    availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            onServerRunning: { [weak self] channel in
                let port = channel.localAddress?.port ?? configuration.port
                state.logger.info("Strata server listening on \(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)\(state.authenticator.isEnabled ? "" : " (no API key configured: loopback only)")")
                self?.listening.listening(on: port)
            },
            logger: state.logger
        )
        do {
            try await routes.runningBackground {
                try await app.run()
            }
        } catch {
            listening.failed(error)
            throw error
        }
    }
}
