import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import Strata
import StrataServer
import Synchronization
import StrataTestSupport
import Testing

@Suite("WebSocket subscriptions")
struct WebSocketTests {
    /// The text frames of a JSON object stream, decoded.
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "frame \(text) is not a JSON object")
    }

    @Test("a WebSocket client on /ws/subscribe/$all receives stored events, the caught-up frame, then events appended after it connected")
    func receivesStoredCaughtUpAndLive() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        try await server.store.append(to: "order-1", event: EventData(type: "placed", json: #"{"n":1}"#))
        try await server.store.append(to: "order-2", event: EventData(type: "placed", json: #"{"n":2}"#))
        let store = server.store
        let frames = Mutex<[String]>([])
        try await Wait.within(.seconds(20), "the WebSocket exchange") {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/subscribe/$all", logger: TestServer.quietLogger) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    let count = frames.withLock { $0.append(text); return $0.count }
                    if text.contains(#""kind":"caught-up""#) {
                        // Appended only now, after the client connected and caught up: these must arrive live.
                        try await store.append(to: "order-3", event: EventData(type: "shipped", json: #"{"n":3}"#))
                        try await store.append(to: "order-1", event: EventData(type: "paid", json: #"{"n":4}"#))
                    }
                    if count == 5 { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let objects = try frames.withLock { $0 }.map(WebSocketTests.object)
        #expect(objects.map { $0["kind"] as? String } == ["event", "event", "caught-up", "event", "event"])
        #expect(objects[2]["position"] as? Int == 2)
        let events = objects.filter { $0["kind"] as? String == "event" }
        #expect(events.map { $0["id"] as? String } == ["1", "2", "3", "4"])
        let payloads = events.compactMap { $0["event"] as? [String: Any] }
        #expect(payloads.map { $0["stream"] as? String } == ["order-1", "order-2", "order-3", "order-1"])
        #expect(payloads.map { $0["type"] as? String } == ["placed", "placed", "shipped", "paid"])
        #expect(payloads.map { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2, 3, 4])
    }

    @Test("a WebSocket client resumes with lastEventId and receives only later events")
    func resumes() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        for i in 1...4 { try await server.store.append(to: "s", event: EventData(type: "t", json: #"{"n":\#(i)}"#)) }
        let frames = Mutex<[String]>([])
        try await Wait.within(.seconds(20), "the WebSocket exchange") {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/subscribe/$all?lastEventId=2",
                                              logger: TestServer.quietLogger) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    frames.withLock { $0.append(text) }
                    if text.contains(#""kind":"caught-up""#) { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let objects = try frames.withLock { $0 }.map(WebSocketTests.object)
        #expect(objects.compactMap { $0["id"] as? String } == ["3", "4"])
        #expect(objects.last?["position"] as? Int == 4)
    }

    @Test("a WebSocket without a valid key gets an unauthorized error frame and a policy-violation close, one without read scope forbidden")
    func refusedUpgrade() async throws {
        let writer = APIKey(name: "writer", key: "writer-key-0123456789", scopes: [.write])
        let reader = APIKey(name: "reader", key: "reader-key-0123456789", scopes: [.read])
        let server = try await TestServer(configuration: ServerConfiguration(port: 0, apiKeys: [writer, reader]))
        defer { Task { await server.stop() } }
        let url = "ws://127.0.0.1:\(server.port)/ws/subscribe/$all"
        /// Connects with `headers` and returns the frames received and the server's close frame.
        @Sendable func refusal(_ headers: HTTPFields) async throws -> (frames: [String], close: WebSocketCloseFrame?) {
            // HummingbirdWSClient 2.8.1 sometimes loses frames that arrive in the same read as
            // the 101 response and then never returns (about 1 run in 4 here): a connect that
            // hangs is retried, a wrong answer is not.
            for _ in 1...4 {
                let frames = Mutex<[String]>([])
                do {
                    let close = try await Wait.within(.seconds(5), "the refused connection to end") {
                        try await WebSocketClient.connect(url: url, configuration: .init(additionalHeaders: headers), logger: TestServer.quietLogger) { inbound, _, _ in
                            for try await message in inbound.messages(maxSize: 1 << 20) {
                                if case .text(let text) = message { frames.withLock { $0.append(text) } }
                            }
                        }
                    }
                    return (frames.withLock { $0 }, close)
                } catch is TimedOut {
                    continue
                }
            }
            Issue.record("the WebSocket client never returned in 4 attempts")
            return ([], nil)
        }
        // The reason comes as one error frame, then the server closes with "policy violation".
        for (headers, code) in [([:], "unauthorized"), ([.authorization: "Bearer not-a-key-0123456789"], "unauthorized"),
                                ([.authorization: "Bearer \(writer.key!)"], "forbidden")] as [(HTTPFields, String)] {
            let (frames, close) = try await refusal(headers)
            #expect(frames.count == 1)
            let error = try WebSocketTests.object(try #require(frames.first))
            #expect(error["kind"] as? String == "error")
            #expect((error["error"] as? [String: Any])?["code"] as? String == code)
            #expect(close?.closeCode == .policyViolation && close?.reason == code)
        }

        // Without an upgrade, the same path answers the documented HTTP refusal.
        let http = "http://127.0.0.1:\(server.port)/ws/subscribe/$all"
        let missing = try await HTTPTestClient.send(.GET, http)
        #expect(missing.status == 401 && missing.errorCode == "unauthorized")
        let noScope = try await HTTPTestClient.send(.GET, http, headers: [("Authorization", "Bearer \(writer.key!)")])
        #expect(noScope.status == 403 && noScope.errorCode == "forbidden")

        // The same key with read scope is let in.
        let configuration = WebSocketClientConfiguration(additionalHeaders: [.authorization: "Bearer \(reader.key!)"])
        let caughtUp = Mutex(false)
        try await Wait.within(.seconds(20), "the WebSocket exchange") {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: TestServer.quietLogger) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message, text.contains(#""kind":"caught-up""#) {
                        caughtUp.withLock { $0 = true }
                        break
                    }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        #expect(caughtUp.withLock { $0 })
    }
}
