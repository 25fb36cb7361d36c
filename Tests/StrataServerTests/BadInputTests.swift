import Foundation
import NIOHTTP1
import Strata
import StrataClient
import StrataServer
import StrataTestSupport
import Testing

/// Every refusal: the documented status and JSON error code, and nothing stored.
@Suite("Bad input, authentication and limits")
struct BadInputTests {
    static let admin = APIKey(name: "admin", key: "admin-key-0123456789", scopes: [.admin])
    static let reader = APIKey(name: "reader", key: "reader-key-0123456789", scopes: [.read])
    static let orders = APIKey(name: "orders", key: "orders-key-0123456789", scopes: [.read, .write], streamPrefix: "orders-")

    static func server(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        var configuration = ServerConfiguration(port: 0, apiKeys: [admin, reader, orders])
        configuration.limits.maxBodyBytes = 4096
        configuration.limits.maxEventsPerAppend = 3
        configuration.limits.maxSubscribersPerKey = 1
        adjust(&configuration)
        return try await TestServer(configuration: configuration)
    }

    static func bearer(_ key: APIKey) -> [(String, String)] { [("Authorization", "Bearer \(key.key!)")] }

    static let oneEvent = #"{"events":[{"type":"t","data":{}}]}"#

    /// Sends, checks status and code, and checks that the store's head did not move.
    static func expectRefused(_ server: TestServer, _ method: HTTPMethod, _ path: String, body: String? = nil, bytes: [UInt8]? = nil,
                              headers: [(String, String)] = bearer(admin), status: Int, code: String,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws -> HTTPTestClient.Answer {
        let before = try await server.store.headPosition()
        let answer = try await HTTPTestClient.send(method, server.baseURL + path, body: body, bytes: bytes, headers: headers)
        #expect(answer.status == status, "\(method) \(path): \(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.errorCode == code, "\(method) \(path): \(answer.text)", sourceLocation: sourceLocation)
        #expect(answer.headers.first(name: "Content-Type") == "application/json", sourceLocation: sourceLocation)
        #expect(try await server.store.headPosition() == before, "nothing stored", sourceLocation: sourceLocation)
        return answer
    }

    @Test("oversized bodies, too many events and oversized events get 413 and store nothing")
    func tooLarge() async throws {
        let server = try await Self.server { $0.limits.maxEventBytes = 1000 }
        defer { Task { await server.stop() } }
        let big = #"{"events":[{"type":"t","data":""# + String(repeating: "x", count: 5000) + #""}]}"#
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: big, status: 413, code: "body-too-large")
        let four = #"{"events":[{"type":"t","data":1},{"type":"t","data":2},{"type":"t","data":3},{"type":"t","data":4}]}"#
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: four, status: 413, code: "too-many-events")
        let large = #"{"events":[{"type":"t","data":""# + String(repeating: "y", count: 1500) + #""}]}"#
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: large, status: 413, code: "event-too-large")
        _ = try await Self.expectRefused(server, .POST, "/ingest", body: #"{"events":[{"id":"\#(UUID())","type":"t","data":""# + String(repeating: "z", count: 1500) + #""}]}"#,
                                         status: 413, code: "event-too-large")
    }

    @Test("malformed JSON gets 400 with the reason and stores nothing")
    func malformed() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        let answer = try await Self.expectRefused(server, .POST, "/streams/s", body: #"{"events":[{"type":"t","data":{oops}}]}"#,
                                                  status: 400, code: "malformed-json")
        #expect(answer.text.contains("expected a string key at byte 31"), "the reason names what and where: \(answer.text)")
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: "", status: 400, code: "malformed-json")
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: #"{"events":[{"data":{}}]}"#, status: 400, code: "malformed-json")
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: #"{"events":[{"type":"t","data":{},"colour":1}]}"#,
                                         status: 400, code: "malformed-json")
        _ = try await Self.expectRefused(server, .POST, "/ingest", body: #"{"events":[{"type":"t"}]}"#, status: 400, code: "malformed-json")
        // One bad event in an ingest batch stores none of it.
        _ = try await Self.expectRefused(server, .POST, "/ingest", body: #"{"events":[{"id":"\#(UUID())","type":"ok"},{"id":"\#(UUID())","type":""}]}"#,
                                         status: 400, code: "invalid-event-type")
        _ = try await Self.expectRefused(server, .GET, "/streams/s?limit=many", status: 400, code: "invalid-argument")
    }

    @Test("bad stream names get 400 invalid-stream-name")
    func badStreamNames() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await Self.expectRefused(server, .POST, "/streams/%24reserved", body: Self.oneEvent, status: 400, code: "invalid-stream-name")
        _ = try await Self.expectRefused(server, .POST, "/streams/$all", body: Self.oneEvent, status: 400, code: "invalid-stream-name")
        _ = try await Self.expectRefused(server, .POST, "/streams/a%01b", body: Self.oneEvent, status: 400, code: "invalid-stream-name")
        _ = try await Self.expectRefused(server, .POST, "/streams/" + String(repeating: "n", count: 256), body: Self.oneEvent,
                                         status: 400, code: "invalid-stream-name")
    }

    @Test("a wrong expected revision gets 409 with the actual revision and stores nothing")
    func wrongExpectedRevision() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        try await server.store.append(to: "s", events: [EventData(type: "t", json: "{}"), EventData(type: "t", json: "{}")])
        let answer = try await Self.expectRefused(server, .POST, "/streams/s", body: #"{"expectedRevision":1,"events":[{"type":"t","data":{}}]}"#,
                                                  status: 409, code: "wrong-expected-revision")
        let details = (answer.json["error"] as? [String: Any])?["details"] as? [String: Any]
        #expect(details?["actual"] as? Int == 2)
        #expect(details?["expected"] as? String == "1")
        _ = try await Self.expectRefused(server, .POST, "/streams/new", body: #"{"expectedRevision":"stream-exists","events":[{"type":"t","data":{}}]}"#,
                                         status: 409, code: "wrong-expected-revision")
        _ = try await Self.expectRefused(server, .DELETE, "/streams/s?expectedRevision=7", status: 409, code: "wrong-expected-revision")
        #expect(try await server.store.streamInfo("s").exists)
    }

    @Test("missing or invalid keys get 401, a missing scope or another prefix 403")
    func authentication() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: Self.oneEvent, headers: [], status: 401, code: "unauthorized")
        _ = try await Self.expectRefused(server, .GET, "/streams/$all", headers: [], status: 401, code: "unauthorized")
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: Self.oneEvent, headers: [("Authorization", "Bearer admin-key-0123456780")],
                                         status: 401, code: "unauthorized")
        _ = try await Self.expectRefused(server, .POST, "/streams/s", body: Self.oneEvent, headers: Self.bearer(Self.reader), status: 403, code: "forbidden")
        _ = try await Self.expectRefused(server, .POST, "/ingest", body: #"{"events":[]}"#, headers: Self.bearer(Self.reader), status: 403, code: "forbidden")
        _ = try await Self.expectRefused(server, .GET, "/metrics", headers: Self.bearer(Self.reader), status: 403, code: "forbidden")
        _ = try await Self.expectRefused(server, .POST, "/streams/users-1", body: Self.oneEvent, headers: Self.bearer(Self.orders), status: 403, code: "forbidden")
        _ = try await Self.expectRefused(server, .GET, "/streams/users-1", headers: Self.bearer(Self.orders), status: 403, code: "forbidden")
        _ = try await Self.expectRefused(server, .GET, "/subscribe/users-1", headers: Self.bearer(Self.orders), status: 403, code: "forbidden")

        // What the keys may do, they can.
        let ok = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/orders-1", body: Self.oneEvent, headers: [("X-API-Key", Self.orders.key!)])
        #expect(ok.status == 200, "\(ok.text)")
        try await server.store.append(to: "users-1", event: EventData(type: "t", json: "{}"))
        // The prefix key's $all reads see only its streams.
        let all = try await HTTPTestClient.send(.GET, server.baseURL + "/streams/$all", headers: Self.bearer(Self.orders))
        #expect((all.json["events"] as? [[String: Any]])?.map { $0["stream"] as? String } == ["orders-1"])
        let read = try await HTTPTestClient.send(.GET, server.baseURL + "/streams/$all?api_key=\(Self.reader.key!)")
        #expect(read.status == 200)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/health/live").status == 200, "probes need no key")
        // Through the client, a refusal is a StrataClientError, not a store error.
        let client = try RemoteEventStore(url: server.baseURL, apiKey: Self.reader.key!)
        defer { Task { try await client.close() } }
        await #expect(throws: StrataClientError.self) { try await client.append(to: "s", event: EventData(type: "t", json: "{}")) }
    }

    @Test("a subscription over the key's limit gets 429 too-many-subscribers; closing one frees its slot")
    func tooManySubscribers() async throws {
        // A server notices a client went away at its next write: heartbeats make that prompt.
        let server = try await Self.server { $0.heartbeatSeconds = 0.1 }
        defer { Task { await server.stop() } }
        let url = server.baseURL + "/subscribe/$all"
        let holder = Task { try await HTTPTestClient.readRaw(url, headers: Self.bearer(Self.reader), until: "never-sent", timeout: .seconds(30)) }
        try await Wait.until("the first subscription to open", timeout: .seconds(10)) { await server.subscriberCount() == 1 }
        let answer = try await Self.expectRefused(server, .GET, "/subscribe/$all", headers: Self.bearer(Self.reader), status: 429, code: "too-many-subscribers")
        #expect(answer.headers.first(name: "Retry-After") != nil)
        // Another key has its own allowance.
        let other = try await HTTPTestClient.readRaw(url, headers: Self.bearer(Self.admin), until: "caught-up")
        #expect(other.contains("caught-up"))
        holder.cancel()
        try await Wait.until("the slot to be released", timeout: .seconds(10)) { await server.subscriberCount() == 0 }
        let again = try await HTTPTestClient.readRaw(url, headers: Self.bearer(Self.reader), until: "caught-up")
        #expect(again.contains("caught-up"))
    }

    @Test("requests over the per-key rate get 429 rate-limited with Retry-After")
    func rateLimited() async throws {
        // One request every 100 seconds: the first passes, the next ones do not, however slow
        // the machine (under AddressSanitizer these requests took seconds each).
        let server = try await Self.server { $0.limits.requestsPerSecondPerKey = 0.01 }
        defer { Task { await server.stop() } }
        var statuses: [Int] = []
        for _ in 0..<2 { statuses.append(try await HTTPTestClient.send(.GET, server.baseURL + "/head", headers: Self.bearer(Self.reader)).status) }
        #expect(statuses == [200, 429])
        // Another key has its own bucket.
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/head", headers: Self.bearer(Self.admin)).status == 200)
        let refused = try await Self.expectRefused(server, .POST, "/streams/s", body: Self.oneEvent, headers: Self.bearer(Self.reader), status: 429, code: "rate-limited")
        #expect(Int(refused.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
    }

    @Test("unknown routes get a JSON 404")
    func notFound() async throws {
        let server = try await Self.server()
        defer { Task { await server.stop() } }
        _ = try await Self.expectRefused(server, .GET, "/nope", status: 404, code: "not-found")
    }
}

extension TestServer {
    /// Open subscriptions, from `/stats`.
    func subscriberCount() async -> Int {
        let answer = try? await HTTPTestClient.send(.GET, baseURL + "/stats", headers: BadInputTests.bearer(BadInputTests.admin))
        return answer?.json["subscribers"] as? Int ?? -1
    }
}
