import Foundation
import Strata
import StrataServer
import StrataTestSupport
import Testing

@Suite("SSE and WebSocket subscriptions")
struct SubscriptionTests {
    @Test("an SSE client that reconnects with Last-Event-ID receives exactly the missed events, in order")
    func resumeAll() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        for i in 1...3 { try await server.store.append(to: "a-\(i % 2)", event: EventData(type: "t", json: #"{"n":\#(i)}"#)) }

        let first = try await SSETestReader.read(server.baseURL + "/subscribe/$all") { $0.contains { $0.event == "caught-up" } }
        let firstIDs = first.filter { $0.event == "message" }.compactMap(\.id)
        #expect(firstIDs == ["1", "2", "3"])
        #expect(first.last?.event == "caught-up" && first.last?.data == #"{"position":3}"#)

        // Disconnected: these are missed.
        for i in 4...6 { try await server.store.append(to: "b", event: EventData(type: "t", json: #"{"n":\#(i)}"#)) }

        let resumed = try await SSETestReader.read(server.baseURL + "/subscribe/$all", headers: [("Last-Event-ID", firstIDs.last!)]) {
            $0.contains { $0.event == "caught-up" }
        }
        let events = resumed.filter { $0.event == "message" }
        #expect(events.map(\.id) == ["4", "5", "6"])
        let payloads = try events.map { try JSONSerialization.jsonObject(with: Data($0.data.utf8)) as! [String: Any] }
        #expect(payloads.map { ($0["data"] as? [String: Any])?["n"] as? Int } == [4, 5, 6])
        #expect(payloads.allSatisfy { $0["stream"] as? String == "b" })
    }

    @Test("a stream subscription's SSE ids are revisions, resumable with Last-Event-ID, and live events arrive")
    func resumeStreamAndLive() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        try await server.store.append(to: "other", event: EventData(type: "t", json: "{}"))
        for _ in 1...2 { try await server.store.append(to: "s", event: EventData(type: "t", json: "{}")) }
        let store = server.store
        // Append while the client is connected, after it caught up: it must arrive live.
        let live = try await SSETestReader.read(server.baseURL + "/subscribe/s?after=1") { messages in
            if messages.count == 2, messages.last?.event == "caught-up" {
                Task { try await store.append(to: "s", event: EventData(type: "live", json: "{}")) }
            }
            return messages.count == 3
        }
        #expect(live.map(\.event) == ["message", "caught-up", "message"])
        #expect(live.map(\.id) == ["2", nil, "3"])
        #expect(live[1].data == #"{"revision":2}"#)
    }

    @Test("a filtered $all subscription sends checkpoints with ids, and type filters apply")
    func filtered() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        try await server.store.append(to: "x-1", event: EventData(type: "keep", json: "{}"))
        try await server.store.append(to: "y-1", event: EventData(type: "keep", json: "{}"))
        try await server.store.append(to: "x-2", event: EventData(type: "drop", json: "{}"))
        let messages = try await SSETestReader.read(server.baseURL + "/subscribe/$all?prefix=x-&type=keep") {
            $0.contains { $0.event == "caught-up" }
        }
        let events = messages.filter { $0.event == "message" }
        #expect(events.map(\.id) == ["1"])
        #expect(messages.contains { $0.event == "checkpoint" && $0.id == "3" })
    }

    @Test("heartbeats keep an idle SSE connection open as comment lines")
    func heartbeats() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.heartbeatSeconds = 0.05
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let answer = try await HTTPTestClient.readRaw(server.baseURL + "/subscribe/$all", until: ": heartbeat\n\n: heartbeat\n\n")
        #expect(answer.contains(": heartbeat\n\n"))
        #expect(answer.contains("event: caught-up"))
    }
}
