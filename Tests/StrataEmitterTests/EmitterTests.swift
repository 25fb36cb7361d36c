import Foundation
import Strata
import StrataConsumers
import StrataEmitter
import StrataLog
import StrataTestSupport
import Testing

@Suite("emitter: the outbox")
struct EmitterTests {
    static let source = SourceIdentity(id: "orders-1", name: "orders", class: "OrderService", region: "eu-west")

    @Test("emit enqueues, flush appends to the outbox stream with ts and the source identity in the metadata")
    func emitAndFlush() async throws {
        let store = InMemoryEventStore()
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source))
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let event = EmitterEvent(type: "user.action", data: ["userId": "123", "action": "click"])
        try emitter.emit(event)
        for i in 0..<99 { try emitter.emit(EmitterEvent(type: "tick", data: ["n": .integer(Int64(i))])) }
        try await emitter.flush()
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        let stored = try await store.readStream("outbox").collect()
        #expect(stored.count == 100)
        #expect(stored[0].id == event.id && stored[0].type == "user.action")
        #expect(String(decoding: stored[0].data, as: UTF8.self) == #"{"action":"click","userId":"123"}"#)
        let metadata = try metadataObject(stored[0])
        #expect(metadata["source"] as? [String: String] == ["id": "orders-1", "name": "orders", "class": "OrderService", "region": "eu-west"])
        let ts = try #require(metadata["ts"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.contains("T"), "ts \(ts)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let millis = Int64(try #require(formatter.date(from: ts)).timeIntervalSince1970 * 1000)
        #expect(millis >= before - 1 && millis <= after + 1)
        #expect(emitter.pendingCount == 100)
        try await emitter.close()
        #expect(throws: EmitterError.closed(reason: "closed by the application")) { try emitter.emit(event) }
    }

    @Test("emitDurably returns once the event is in the store")
    func emitDurably() async throws {
        let dir = TemporaryDirectory.freshPath("durably")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir)
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source, outboxStream: "box"))
        let event = EmitterEvent.lifecycle("start", reason: "deploy")
        try await emitter.emitDurably(event)
        #expect(try await store.readStream("box").collect().map(\.id) == [event.id])
        try await emitter.close()
        try await store.close()
    }

    @Test("bad input is a typed error and enqueues nothing")
    func badInput() async throws {
        let store = InMemoryEventStore()
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source,
                                                                                   limits: EventLimits(maxEventSize: 1000)))
        #expect(throws: StrataError.self) { try emitter.emit(EmitterEvent(type: "", data: ["a": 1])) }
        #expect(throws: StrataError.self) { try emitter.emit(EmitterEvent(type: "bad\u{1}type", data: ["a": 1])) }
        #expect(throws: StrataError.self) { try emitter.emit(EmitterEvent(type: "t", data: Data("[1,2]".utf8))) }
        #expect(throws: StrataError.self) { try emitter.emit(EmitterEvent(type: "t", data: Data("{\"a\":".utf8))) }
        #expect(throws: StrataError.self) { try emitter.emit(EmitterEvent(type: "t", data: ["big": .string(String(repeating: "x", count: 2000))])) }
        await #expect(throws: StrataError.self) {
            _ = try await Emitter.open(store: store, options: EmitterOptions(source: Self.source, outboxStream: "$outbox"))
        }
        #expect(emitter.pendingCount == 0 && emitter.bufferedCount == 0)
        try await emitter.flush()
        #expect(try await store.headPosition() == 0)
    }

    @Test("the typed helpers write dotdo's event kinds")
    func typedHelpers() throws {
        func object(_ event: EmitterEvent) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: event.data) as? [String: Any])
        }
        let rpc = EmitterEvent.rpcCall(method: "sendMessage", namespace: "chat", durationMs: 12.5, success: false, error: "boom")
        #expect(rpc.type == "rpc.call")
        let r = try object(rpc)
        #expect(r["method"] as? String == "sendMessage" && r["namespace"] as? String == "chat")
        #expect(r["durationMs"] as? Double == 12.5 && r["success"] as? Bool == false && r["error"] as? String == "boom")
        let life = EmitterEvent.lifecycle("hibernate", reason: "idle")
        let l = try object(life)
        #expect(life.type == "lifecycle.hibernate" && l["reason"] as? String == "idle")
        let ws = EmitterEvent.websocket("close", connectionCount: 3, code: 1001, reason: "going away")
        let w = try object(ws)
        #expect(ws.type == "ws.close" && w["connectionCount"] as? Int == 3 && w["code"] as? Int == 1001 && w["reason"] as? String == "going away")
        let page = EmitterEvent.page("/pricing", properties: ["ref": "ad"], anonymousId: "anon-1")
        let p = try object(page)
        #expect(page.type == "page" && p["event"] as? String == "/pricing" && p["anonymousId"] as? String == "anon-1")
        #expect(p["properties"] as? [String: String] == ["ref": "ad"])
        let track = EmitterEvent.track("signup", properties: ["plan": "pro"], userId: "u1")
        let t = try object(track)
        #expect(track.type == "track" && t["event"] as? String == "signup" && t["userId"] as? String == "u1")
        let identify = EmitterEvent.identify(userId: "u1", traits: ["email": "a@b.c"])
        let i = try object(identify)
        #expect(identify.type == "identify" && i["traits"] as? [String: String] == ["email": "a@b.c"] && i["event"] == nil)
    }

    @Test("the source identity is refined from request headers; unusable values are ignored")
    func enrichment() async throws {
        let store = InMemoryEventStore()
        let emitter = try await Emitter.open(store: store, options: EmitterOptions(source: SourceIdentity(id: "do-7", class: "Room")))
        emitter.refineSource(fromRequestHeaders: [("x-strata-region", " ams "), ("X-Strata-Worker", "api\u{7}evil"),
                                                  ("Fly-Region", "cdg"), ("X-Strata-Source-Name", "room-42")])
        #expect(emitter.source == SourceIdentity(id: "do-7", name: "room-42", class: "Room", region: "ams", worker: nil))
        emitter.refineSource(fromRequestHeaders: [("Fly-Region", "cdg"), ("X-Strata-Worker", "api-3")])
        #expect(emitter.source.region == "cdg" && emitter.source.worker == "api-3")
        var custom = SourceIdentity(id: "x")
        custom.refine(fromRequestHeaders: [("CF-IPCountry", "NL")], mapping: .init(region: ["cf-ipcountry"]))
        #expect(custom.region == "NL")
        try emitter.emit(.track("click"))
        try emitter.emit(.track("click"), source: SourceIdentity(id: "other"))
        try await emitter.flush()
        let stored = try await store.readStream("outbox").collect()
        let sources = try stored.map { event in
            try metadataObject(event)["source"] as? [String: String]
        }
        #expect(sources[0] == ["id": "do-7", "name": "room-42", "class": "Room", "region": "cdg", "worker": "api-3"])
        #expect(sources[1] == ["id": "other"])
    }
}
