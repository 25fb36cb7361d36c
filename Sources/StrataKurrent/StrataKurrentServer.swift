import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Strata
import StrataServer

/// KurrentDB's gRPC client protocol beside Strata's HTTP API: existing KurrentDB (EventStoreDB)
/// clients in any language read, append, subscribe and use persistent subscriptions against a
/// Strata store (docs/KURRENTDB.md).
///
/// It serves HTTP/2 on a port of its own and shares everything else with the ``StrataHTTPServer``
/// it is built from: the store, API keys and scopes, rate limits and subscriber limits, TLS
/// files, the live tail that `$all` subscriptions follow, persistent subscriptions and shutdown.
/// Without API keys it listens on loopback only, as the HTTP server does.
///
/// ```swift
/// let http = try StrataHTTPServer(store: store, configuration: configuration)
/// let grpc = StrataKurrentServer(http: http, port: 2113)
/// try await ServiceGroup(services: [http, grpc], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
public final class StrataKurrentServer: Service, Sendable {
    /// The address listened on (loopback when no API key is configured).
    public let host: String
    private let requestedPort: Int
    private let state: ServerState
    private let listening: ListeningPort

    /// Creates the gRPC surface of an HTTP server.
    /// - Parameters:
    ///   - http: the server whose store, keys, limits, TLS files and subscriptions it shares.
    ///   - port: the port to listen on; 0 picks a free one (see ``waitUntilRunning()``).
    public init(http: StrataHTTPServer, port: Int) {
        self.state = http.state
        self.host = http.host
        self.requestedPort = port
        self.listening = ListeningPort(host: http.host)
    }

    /// The port listened on, once running.
    public var port: Int? { listening.port }

    /// Waits until the server listens and returns its port.
    /// - Throws: when the server failed to start.
    public func waitUntilRunning() async throws -> Int { try await listening.wait() }

    /// Runs until cancelled or until graceful shutdown completes. Graceful shutdown ends open
    /// subscriptions (with `UNAVAILABLE`, so that clients reconnect elsewhere) and finishes the
    /// calls in flight.
    public func run() async throws {
        let state = self.state
        let host = self.host == "localhost" ? "127.0.0.1" : self.host
        let address: GRPCNIOTransportCore.SocketAddress = host.contains(":") ? .ipv6(host: host, port: requestedPort)
                                                                              : .ipv4(host: host, port: requestedPort)
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let tls = state.configuration.tls {
            security = .tls(certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.privateKey, format: .pem))
        } else {
            security = .plaintext
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = max(state.configuration.limits.maxBodyBytes, 4 << 20)
        let transport = HTTP2ServerTransport.Posix(address: address, transportSecurity: security, config: config)
        let listening = self.listening
        let services: [any RegistrableRPCService] = [
            StreamsService(state: state),
            PersistentSubscriptionsService(state: state),
            ServerFeaturesService(state: state),
            GossipService(state: state, endpoint: { [host] in (host, listening.port ?? 0) }),
        ]
        let server = GRPCServer(transport: transport, services: services)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.serve()
                } onGracefulShutdown: {
                    state.beginShutdown()
                    server.beginGracefulShutdown()
                }
            }
            do {
                let address = try await transport.listeningAddress
                guard let bound = address.ipv4?.port ?? address.ipv6?.port else {
                    throw StrataError.io(path: host, operation: "listen", reason: "no address")
                }
                state.logger.info("Strata KurrentDB gRPC listening on \(state.configuration.tls == nil ? "" : "TLS ")\(host):\(bound)\(state.authenticator.isEnabled ? "" : " (no API key configured: loopback only)")")
                listening.listening(on: bound)
            } catch {
                listening.failed(error)
                throw error
            }
        }
    }
}
