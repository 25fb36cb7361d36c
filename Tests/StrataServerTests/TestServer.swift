import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Strata
import StrataClient
import StrataServer
import StrataTestSupport
import Testing

/// A server on 127.0.0.1 and a free port, over a store, run by a ServiceGroup so that tests
/// can stop it gracefully.
final class TestServer: Sendable {
    let store: any EventStore
    let server: StrataHTTPServer
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static let quietLogger: Logger = {
        var logger = Logger(label: "strata.test")
        logger.logLevel = .warning
        return logger
    }()

    /// - Parameter port: the port to listen on; 0 (the default) takes a free one.
    init(store: any EventStore = InMemoryEventStore(), configuration: ServerConfiguration = ServerConfiguration(port: 0), port: Int = 0) async throws {
        var configuration = configuration
        configuration.port = port
        self.store = store
        let server = try StrataHTTPServer(store: store, configuration: configuration, logger: TestServer.quietLogger)
        self.server = server
        let group = ServiceGroup(configuration: .init(services: [server], logger: TestServer.quietLogger))
        self.group = group
        self.task = Task { try await group.run() }
        self.port = try await server.waitUntilRunning()
    }

    /// Graceful shutdown, then closes the store unless `closingStore` is false (a store other servers share).
    func stop(closingStore: Bool = true) async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        if closingStore { try? await store.close() }
    }
}

extension HTTPTestClient {
    /// Reads a streaming response as text until it contains `marker` (bounded by `timeout`).
    static func readRaw(_ url: String, headers: [(String, String)] = [], until marker: String,
                        timeout: Duration = .seconds(20)) async throws -> String {
        try await Wait.within(timeout, "\(marker.debugDescription) in \(url)") {
            var request = HTTPClientRequest(url: url)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await shared.execute(request, timeout: .seconds(60))
            var text = ""
            for try await buffer in response.body {
                text += String(decoding: buffer.readableBytesView, as: UTF8.self)
                if text.contains(marker) { return text }
            }
            return text
        }
    }
}
