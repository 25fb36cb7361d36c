import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Strata
import StrataServer
import StrataTestSupport
import Synchronization
import Testing

/// `StrataRoutes` mounted into an application of the user's: the example of its DocC comment
/// and docs/SERVER.md ("Strata inside your own Hummingbird application"), run.
@Suite("Strata's routes in a user's Hummingbird application")
struct MountedRoutesTests {
    @Test("the user's routes and Strata's serve side by side; Strata's guard covers only Strata's routes; shutdown is graceful")
    func mounted() async throws {
        let store = InMemoryEventStore()
        let secret = "mounted-secret-0123456789"
        let key = APIKey(name: "app", key: secret, scopes: [.read, .write])
        let logger = TestServer.quietLogger
        let port = Mutex<Int?>(nil)

        // The example.
        let routes = try StrataRoutes(store: store, configuration: ServerConfiguration(apiKeys: [key]), logger: logger)
        let router = Router(context: StrataRequestContext.self)
        router.get("/hello") { _, _ in "hello" }
        routes.add(to: router)
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade { head, _, _ in routes.webSocketUpgrade(head) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app, routes], logger: logger))
        let running = Task { try await group.run() }

        try await Wait.until("the application listens", timeout: .seconds(20)) { port.withLock { $0 } != nil }
        let base = "http://127.0.0.1:\(port.withLock { $0 }!)"
        let auth = [("Authorization", "Bearer \(secret)")]

        // The user's route needs no Strata key.
        let hello = try await HTTPTestClient.send(.GET, base + "/hello")
        #expect(hello.status == 200 && hello.text == "hello")
        // Strata's routes do, and answer with Strata's JSON errors.
        let refused = try await HTTPTestClient.send(.GET, base + "/streams/orders")
        #expect(refused.status == 401 && refused.errorCode != nil, "\(refused.text)")
        let appended = try await HTTPTestClient.send(.POST, base + "/streams/orders", body: #"{"events":[{"type":"placed","data":{"n":1}}]}"#, headers: auth)
        #expect(appended.status == 200 || appended.status == 201, "\(appended.text)")
        let read = try await HTTPTestClient.send(.GET, base + "/streams/orders", headers: auth)
        #expect(read.status == 200 && read.text.contains("\"placed\""), "\(read.text)")
        #expect(try await store.headPosition() == 1)
        // A live subscription through the mounted routes sees the event.
        let live = try await HTTPTestClient.readRaw(base + "/subscribe/orders", headers: auth, until: "caught-up")
        #expect(live.contains("\"placed\""))

        await group.triggerGracefulShutdown()
        try await running.value
        try await store.close()
    }
}
