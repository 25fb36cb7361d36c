import Foundation
import HTTPTypes
import NIOHTTP1
import Strata
import StrataDocuments
@testable import StrataServer
import StrataTestSupport
import Testing

/// The server's security model (docs/SERVER.md, "Security model"; issue 15): browsers, keys,
/// names and the work one request can cause. The Python suite Tests/python/hostile_clients_test.py
/// adds what needs raw sockets (idle connections, slowloris, oversized headers).
@Suite("Security model")
struct SecurityModelTests {
    static let admin = APIKey(name: "admin", key: "security-admin-key-0123456789", scopes: [.admin])

    static func bearer(_ secret: String) -> [(String, String)] { [("Authorization", "Bearer \(secret)")] }

    @Test("an Origin that is not the server's own is refused on every kind of route; the own origin and an allowed one pass, with CORS headers for the allowed one")
    func origins() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.allowedOrigins = ["http://app.example:8080"]
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let event = #"{"events":[{"type":"t","data":{}}]}"#
        for (method, path, body) in [(HTTPMethod.GET, "/health/live", nil), (.GET, "/streams/$all", nil), (.POST, "/streams/s", event),
                                     (.GET, "/", nil), (.DELETE, "/streams/s", nil)] as [(HTTPMethod, String, String?)] {
            let refused = try await HTTPTestClient.send(method, server.baseURL + path, body: body, headers: [("Origin", "http://evil.example")])
            #expect(refused.status == 403 && refused.errorCode == "origin-not-allowed", "\(method) \(path): \(refused.status)")
            for origin in ["null", "file://", "chrome-extension://abcdefghijklmnop", "http://127.0.0.1.evil.example"] {
                let other = try await HTTPTestClient.send(method, server.baseURL + path, body: body, headers: [("Origin", origin)])
                #expect(other.status == 403, "\(method) \(path) from \(origin): \(other.status)")
            }
        }
        #expect(try await server.store.headPosition() == 0, "a refused write stored something")

        let own = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/own", body: event, headers: [("Origin", server.baseURL)])
        #expect(own.status == 200)
        #expect(own.headers["Access-Control-Allow-Origin"].isEmpty, "same-origin answers need no CORS headers")

        let allowed = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/app", body: event, headers: [("Origin", "http://APP.example:8080")])
        #expect(allowed.status == 200)
        #expect(allowed.headers["Access-Control-Allow-Origin"].first == "http://APP.example:8080")
        #expect(allowed.headers["Vary"].first == "Origin")

        let preflight = try await HTTPTestClient.send(.OPTIONS, server.baseURL + "/streams/app", headers: [
            ("Origin", "http://app.example:8080"), ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type"),
        ])
        #expect(preflight.status == 204)
        #expect(preflight.headers["Access-Control-Allow-Origin"].first == "http://app.example:8080")
        #expect(preflight.headers["Access-Control-Allow-Methods"].first?.contains("POST") == true)
        #expect(preflight.headers["Access-Control-Allow-Headers"].first?.contains("Authorization") == true)
        let foreignPreflight = try await HTTPTestClient.send(.OPTIONS, server.baseURL + "/streams/app", headers: [
            ("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST"),
        ])
        #expect(foreignPreflight.status == 403 && foreignPreflight.headers["Access-Control-Allow-Origin"].isEmpty)
    }

    @Test("Host names: without keys only loopback names and allowedHosts pass (DNS rebinding); with keys the Host is not checked")
    func hosts() throws {
        func request(host: String) -> HTTPRequest { HTTPRequest(method: .get, scheme: "http", authority: host, path: "/head") }
        var keyless = ServerConfiguration(port: 0)
        keyless.allowedHosts = ["strata.internal"]
        let policy = BrowserPolicy(configuration: keyless)
        for host in ["localhost", "localhost:2113", "127.0.0.1:2113", "127.1.2.3", "[::1]:2113", "STRATA.internal:80"] {
            #expect(throws: Never.self, "\(host)") { _ = try policy.admit(request(host: host)) }
        }
        for host in ["evil.example", "evil.example:2113", "127.0.0.1.evil.example", "10.0.0.1:2113", "localhost.evil.example", "[::2]:2113"] {
            #expect(throws: APIError.self, "\(host)") { _ = try policy.admit(request(host: host)) }
            do { _ = try policy.admit(request(host: host)) } catch { #expect(error.code == "host-not-allowed") }
        }
        let withKeys = BrowserPolicy(configuration: ServerConfiguration(port: 0, apiKeys: [Self.admin]))
        #expect(throws: Never.self) { _ = try withKeys.admit(request(host: "strata.example.com")) }
    }

    @Test("POST, PUT and PATCH need Content-Type application/json: a form or text body gets 415 and stores nothing")
    func contentTypes() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let event = #"{"events":[{"type":"t","data":{}}]}"#
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"] {
            let answer = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/s", body: event, headers: [("Content-Type", type)])
            #expect(answer.status == 415 && answer.errorCode == "unsupported-media-type", "\(type)")
        }
        let document = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/users/u1", body: "{}", headers: [("Content-Type", "text/plain")])
        #expect(document.status == 415)
        #expect(try await server.store.headPosition() == 0)
        let ok = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/s", body: event, headers: [("Content-Type", "Application/JSON; charset=utf-8")])
        #expect(ok.status == 200)
    }

    @Test("hashed keys authenticate; two entries under one name rotate a key; entries that disagree, malformed hashes and key-plus-hash are refused")
    func hashedKeys() async throws {
        let old = "rotation-old-secret-0123456789", new = "rotation-new-secret-0123456789"
        let configuration = ServerConfiguration(port: 0, apiKeys: [
            APIKey(name: "app", keyHash: APIKey.hash(old), scopes: [.read]),
            APIKey(name: "app", key: new, scopes: [.read]),
        ])
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        for secret in [old, new] {
            #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/head", headers: Self.bearer(secret)).status == 200)
        }
        let wrong = try await HTTPTestClient.send(.GET, server.baseURL + "/head", headers: Self.bearer("rotation-bad-secret-0123456789"))
        #expect(wrong.status == 401)
        let hash = try await HTTPTestClient.send(.GET, server.baseURL + "/head", headers: Self.bearer(APIKey.hash(old)))
        #expect(hash.status == 401, "the hash itself must not work as a key")

        #expect(APIKey.hash("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let invalid: [[APIKey]] = [
            [APIKey(name: "a", key: "first-secret-0123456789", scopes: [.read]), APIKey(name: "a", key: "second-secret-0123456789", scopes: [.write])],
            [APIKey(name: "a", keyHash: "sha256:1234", scopes: [.read])],
            [APIKey(name: "a", keyHash: "md5:" + String(repeating: "0", count: 64), scopes: [.read])],
            [APIKey(name: "a", keyHash: "sha256:" + String(repeating: "g", count: 64), scopes: [.read])],
            [APIKey(name: "a", key: "same-secret-0123456789", scopes: [.read]), APIKey(name: "b", keyHash: APIKey.hash("same-secret-0123456789"), scopes: [.read])],
        ]
        for keys in invalid {
            #expect(throws: StrataError.self) { try ServerConfiguration(port: 0, apiKeys: keys).validate() }
        }
        var both = APIKey(name: "a", key: "both-secret-0123456789", scopes: [.read])
        both.keyHash = APIKey.hash("both-secret-0123456789")
        #expect(throws: StrataError.self) { try ServerConfiguration(port: 0, apiKeys: [both]).validate() }
    }

    @Test("collection names that could leave the documents folder are refused on every document route, before anything opens")
    func traversalNames() async throws {
        let directory = TemporaryDirectory.freshPath("names")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ServerConfiguration(port: 0)
        configuration.documentsDirectory = directory + "/views"
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let routes: [(HTTPMethod, String, String?)] = [
            (.GET, "/documents/%@/k", nil), (.PUT, "/documents/%@/k", "{}"), (.PATCH, "/documents/%@/k", "{}"),
            (.DELETE, "/documents/%@/k", nil), (.POST, "/documents/%@", "{}"), (.POST, "/documents/%@/query", "{}"),
            (.POST, "/documents/%@/count", "{}"), (.GET, "/documents/%@/keys", nil), (.GET, "/documents/%@/subscribe", nil),
        ]
        for name in ["..", ".", ".hidden", "%2e%2e", "%2E%2E", "..%2F..%2Fetc", "a%2Fb", "a%5Cb", "%252e%252e", "%00"] {
            for (method, template, body) in routes {
                let path = template.replacingOccurrences(of: "%@", with: name)
                let answer = try await HTTPTestClient.send(method, server.baseURL + path, body: body)
                #expect(answer.status == 400 || answer.status == 404, "\(method) \(path): \(answer.status)")
            }
        }
        #expect(await server.server.state.documents.openCollections.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory), "something was created for a refused name")
        #expect(try await server.store.headPosition() == 0)
    }

    @Test("reads of a collection without documents answer 404 without opening it; the cap on open collections closes the least recently used one, and answers 503 when every open one has subscribers")
    func collections() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.limits.maxOpenCollections = 2
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let documents = server.server.state.documents
        for (method, path, body) in [(HTTPMethod.GET, "/documents/nosuch/k", nil), (.POST, "/documents/nosuch/query", "{}"),
                                     (.POST, "/documents/nosuch/count", "{}"), (.GET, "/documents/nosuch/keys", nil)] as [(HTTPMethod, String, String?)] {
            let answer = try await HTTPTestClient.send(method, server.baseURL + path, body: body)
            #expect(answer.status == 404 && answer.errorCode == "collection-not-found", "\(method) \(path)")
        }
        #expect(await documents.openCollections.isEmpty)

        for name in ["c1", "c2", "c3"] {
            #expect(try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/\(name)/k", body: #"{"n":1}"#).status == 200)
        }
        #expect(await documents.openCollections == ["c2", "c3"])
        // A closed collection still has its documents: reading it opens it again.
        let reopened = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/c1/k")
        #expect(reopened.status == 200)

        // Subscribers keep collections open; with both open ones subscribed, a third cannot open.
        let first = Task { try await HTTPTestClient.readRaw(server.baseURL + "/documents/c1/subscribe", until: "never", timeout: .seconds(30)) }
        let second = Task { try await HTTPTestClient.readRaw(server.baseURL + "/documents/c2/subscribe", until: "never", timeout: .seconds(30)) }
        defer { first.cancel(); second.cancel() }
        try await Wait.until("two change subscriptions", timeout: .seconds(20)) {
            await documents.openCollections == ["c1", "c2"] && server.server.state.subscribers.total == 2
        }
        let refused = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/c3/k")
        #expect(refused.status == 503 && refused.errorCode == "too-many-collections")
    }

    @Test("a $regex filter has one budget for the whole request, not one per document")
    func regexBudget() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.limits.regexBudgetMilliseconds = 50
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let text = String(repeating: "a", count: 28) + "!"
        for i in 0..<40 {
            #expect(try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/slow/k\(i)", body: #"{"s":"\#(text)"}"#).status == 200)
        }
        let started = ContinuousClock.now
        let query = try await HTTPTestClient.send(.POST, server.baseURL + "/documents/slow/query", body: #"{"filter":{"s":{"$regex":"^(a+)+$"}}}"#)
        let elapsed = ContinuousClock.now - started
        #expect(query.status == 504 && query.errorCode == "timed-out")
        #expect(query.text.contains("this request used its"), "\(query.text)")
        // 40 values × the 100 ms per-value limit would be 4 s; far below it shows one budget.
        #expect(elapsed < .seconds(3), "took \(elapsed)")
    }

    @Test("a read page is cut by size as well as count, and next continues it")
    func pagesCutBySize() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.limits.maxResponseBytes = 1_000
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let payload = String(repeating: "x", count: 200)
        for i in 0..<10 {
            try await server.store.append(to: "big", event: EventData(type: "t", json: #"{"i":\#(i),"p":"\#(payload)"}"#))
        }
        for path in ["/streams/big", "/streams/$all"] {
            var seen: [Int] = []
            var from = path == "/streams/big" ? 1 : 1
            var pages = 0
            while pages < 20 {
                pages += 1
                let page = try await HTTPTestClient.send(.GET, server.baseURL + path + "?from=\(from)&limit=100")
                #expect(page.status == 200)
                #expect(page.body.count <= 1_000 || (page.json["events"] as? [Any])?.count == 1)
                let events = page.json["events"] as? [[String: Any]] ?? []
                seen += events.compactMap { ($0["data"] as? [String: Any])?["i"] as? Int }
                guard let next = page.json["next"] as? Int else { break }
                from = next
            }
            #expect(seen == Array(0..<10), "\(path)")
            #expect(pages > 2, "\(path): the pages were not cut")
        }

        // Document queries continue with nextOffset, key listings with next as after.
        let longKey = String(repeating: "k", count: 150)
        for i in 0..<10 {
            #expect(try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/docs/\(longKey)\(i)",
                                                  body: #"{"i":\#(i),"p":"\#(payload)"}"#).status == 200)
        }
        var documents: [Int] = [], offset = 0, queries = 0
        while queries < 20 {
            queries += 1
            let page = try await HTTPTestClient.send(.POST, server.baseURL + "/documents/docs/query",
                                                     body: #"{"sort":[{"i":1}],"offset":\#(offset)}"#)
            #expect(page.status == 200, "\(page.text)")
            documents += (page.json["documents"] as? [[String: Any]] ?? []).compactMap { ($0["data"] as? [String: Any])?["i"] as? Int }
            guard let next = page.json["nextOffset"] as? Int else { break }
            offset = next
        }
        #expect(documents == Array(0..<10) && queries > 2)
        var keys: [String] = [], after: String?, listings = 0
        while listings < 20 {
            listings += 1
            let query = after.map { "?after=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
            let page = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/docs/keys" + query)
            #expect(page.status == 200)
            keys += page.json["keys"] as? [String] ?? []
            guard let next = page.json["next"] as? String else { break }
            after = next
        }
        #expect(keys == (0..<10).map { "\(longKey)\($0)" }.sorted() && listings >= 2)
    }

    @Test("a long poll counts against the key's subscriber limit")
    func longPollIsASubscriber() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.limits.maxSubscribersPerKey = 1
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let open = Task { try await HTTPTestClient.readRaw(server.baseURL + "/subscribe/$all", until: "never", timeout: .seconds(30)) }
        defer { open.cancel() }
        try await Wait.until("the subscription", timeout: .seconds(20)) { server.server.state.subscribers.total == 1 }
        let wait = try await HTTPTestClient.send(.GET, server.baseURL + "/wait?after=0&timeout=100")
        #expect(wait.status == 429 && wait.errorCode == "too-many-subscribers")
    }
}
