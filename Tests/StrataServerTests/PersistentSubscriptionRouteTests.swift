import Foundation
import NIOHTTP1
import Strata
import StrataConsumers
import StrataServer
import StrataTestSupport
import Testing

/// Persistent subscriptions over HTTP (issue 18; docs/SERVER.md, "Persistent subscriptions"):
/// every route and its refusals, the scopes, a server without a registry, and two servers over
/// one store and one checkpoint store, where the one not running a group redirects to the one
/// that does and takes the group over once that one stops.
@Suite("persistent subscriptions over HTTP")
struct PersistentSubscriptionRouteTests {
    static let admin = APIKey(name: "admin", key: "admin-key-0123456789", scopes: [.admin])
    static let reader = APIKey(name: "reader", key: "reader-key-0123456789", scopes: [.read])
    static let writer = APIKey(name: "writer", key: "writer-key-0123456789", scopes: [.write])
    static let ordersReader = APIKey(name: "orders-reader", key: "orders-key-0123456789", scopes: [.read], streamPrefix: "orders-")

    /// A server over a memory store whose groups live in a memory checkpoint store.
    static func server(keys: [APIKey] = [], instance: String = "http://test.invalid",
                       limits: ServerLimits = ServerLimits()) async throws -> (TestServer, PersistentSubscriptions) {
        let store = InMemoryEventStore()
        let registry = PersistentSubscriptions(store: store, checkpoints: MemoryCheckpointStore(), instance: instance)
        var configuration = ServerConfiguration(port: 0, apiKeys: keys, limits: limits)
        configuration.persistentSubscriptions = registry
        return (try await TestServer(store: store, configuration: configuration), registry)
    }

    /// Runs `body`, then stops the servers (and closes their store) whether it returned or threw.
    static func stopping(_ servers: [TestServer], after body: () async throws -> Void) async throws {
        do { try await body() } catch {
            for server in servers { await server.stop() }
            throw error
        }
        for server in servers { await server.stop() }
    }

    static func append(_ base: String, _ stream: String, _ types: [String], key: APIKey? = nil) async throws -> [String] {
        let ids = types.map { _ in UUID().uuidString.lowercased() }
        let events = zip(ids, types).map { #"{"id":"\#($0)","type":"\#($1)","data":{}}"# }.joined(separator: ",")
        let answer = try await HTTPTestClient.send(.POST, base + "/streams/" + stream, body: #"{"events":[\#(events)]}"#, headers: auth(key))
        #expect(answer.status == 200, "\(answer.text)")
        return ids
    }

    /// No body, declared as JSON as every POST and PUT must be (415 otherwise).
    static func emptyBody(_ method: HTTPMethod) -> String? { method == .POST || method == .PUT ? "" : nil }

    static func auth(_ key: APIKey?) -> [(String, String)] { key.map { [("Authorization", "Bearer \($0.key!)")] } ?? [] }

    /// The messages of a read answer: (event id, type, retryCount).
    static func messages(_ answer: HTTPTestClient.Answer) -> [(id: String, type: String, retryCount: Int)] {
        (answer.json["messages"] as? [[String: Any]] ?? []).map { message in
            let event = message["event"] as? [String: Any] ?? [:]
            return (event["id"] as? String ?? "", event["type"] as? String ?? "", message["retryCount"] as? Int ?? -1)
        }
    }

    @Test("create, read with a wait an append satisfies, ack, nack retry and park, parked pages, replay, info, metrics, list, delete; every refusal")
    func fullFlow() async throws {
        let (server, _) = try await Self.server(limits: ServerLimits(maxSubscriptionWaitMilliseconds: 30_000))
        try await Self.stopping([server]) {
            let base = server.baseURL
            let group = base + "/subscriptions/orders/billing"
            func send(_ method: HTTPMethod, _ url: String, _ body: String? = nil) async throws -> HTTPTestClient.Answer {
                try await HTTPTestClient.send(method, url, body: body ?? Self.emptyBody(method))
            }

            // Create: 201 with the definition, settings missing from the body at their defaults.
            let created = try await send(.PUT, group, #"{"settings":{"maxRetryCount":1,"minCheckpointCount":1,"checkpointAfterMilliseconds":0}}"#)
            #expect(created.status == 201, "\(created.text)")
            let settings = created.json["settings"] as? [String: Any] ?? [:]
            #expect(settings["maxRetryCount"] as? Int == 1 && settings["readBatchSize"] as? Int == 20 && settings["consumerStrategy"] as? String == "RoundRobin")
            #expect(try await send(.PUT, group, "{}").errorCode == "subscription-exists")
            #expect(try await send(.PUT, group, "{}").status == 409)
            // Refused definitions create nothing.
            let bad = try await send(.PUT, base + "/subscriptions/orders/bad", #"{"settings":{"readBatchSize":0}}"#)
            #expect(bad.status == 400 && bad.errorCode == "invalid-argument", "\(bad.text)")
            #expect(try await send(.PUT, base + "/subscriptions/orders/bad", #"{"settings":{"readBatchSise":5}}"#).errorCode == "malformed-json")
            #expect(try await send(.PUT, base + "/subscriptions/orders/bad", #"{"settings":{"startFrom":"middle"}}"#).status == 400)
            #expect(try await send(.PUT, base + "/subscriptions/orders/bad", #"{"filter":{"streamPrefixes":["o"]}}"#).errorCode == "invalid-argument")
            #expect(try await send(.PUT, base + "/subscriptions/orders/bad", #"{"color":"red"}"#).errorCode == "malformed-json")
            #expect(try await send(.PUT, base + "/subscriptions/orders/a::b", "{}").status == 400)
            #expect(try await send(.PUT, base + "/subscriptions/orders/bad", "[1]").status == 400)
            let listed = try await send(.GET, base + "/subscriptions")
            #expect((listed.json["subscriptions"] as? [[String: Any]])?.count == 1, "\(listed.text)")
            // Missing groups.
            for (method, path) in [(HTTPMethod.POST, "/subscriptions/orders/nobody"), (.DELETE, "/subscriptions/orders/nobody"),
                                   (.GET, "/subscriptions/orders/nobody/info"), (.POST, "/subscriptions/orders/nobody/read?consumer=w"),
                                   (.GET, "/subscriptions/orders/nobody/parked"), (.POST, "/subscriptions/orders/nobody/replayParked")] {
                let answer = try await send(method, base + path, method == .POST && !path.hasSuffix("read?consumer=w") ? "{}" : nil)
                #expect(answer.status == 404 && answer.errorCode == "subscription-not-found", "\(method) \(path): \(answer.text)")
            }
            // Bad reads.
            #expect(try await send(.POST, group + "/read").errorCode == "invalid-argument")
            #expect(try await send(.POST, group + "/read?consumer=w&wait=30001").errorCode == "invalid-argument")
            #expect(try await send(.POST, group + "/read?consumer=w&count=0").status == 400)
            #expect(try await send(.POST, group + "/read?consumer=w&count=-1").status == 400)
            #expect(try await send(.POST, group + "/ack", #"{"consumer":"w","ids":["not-a-uuid"]}"#).errorCode == "malformed-json")
            #expect(try await send(.POST, group + "/ack", #"{"ids":[]}"#).errorCode == "invalid-argument")
            #expect(try await send(.POST, group + "/nack", #"{"consumer":"w","ids":[],"action":"explode"}"#).errorCode == "invalid-argument")
            #expect(try await send(.POST, group + "/nack", #"{"consumer":"w","ids":[]}"#).errorCode == "malformed-json")

            // A read that waits is answered by an append.
            let waiting = Task {
                let answer = try await HTTPTestClient.send(.POST, group + "/read?consumer=w1&count=10&wait=20000", body: "")
                return (answer.status, answer.text)
            }
            try await Wait.until("the read to wait", interval: .milliseconds(20)) {
                (try await send(.GET, group + "/info").json["connections"] as? [Any])?.count == 1
            }
            let first = try await Self.append(base, "orders", ["placed"])
            let (wokenStatus, wokenText) = try await waiting.value
            #expect(wokenStatus == 200, "\(wokenText)")
            let woken = (try? JSONSerialization.jsonObject(with: Data(wokenText.utf8))) as? [String: Any] ?? [:]
            let wokenMessages = woken["messages"] as? [[String: Any]] ?? []
            #expect(wokenMessages.map { ($0["event"] as? [String: Any])?["id"] as? String } == first.map { $0 })
            #expect(wokenMessages.map { $0["retryCount"] as? Int } == [0])
            #expect((wokenMessages.first?["event"] as? [String: Any])?["stream"] as? String == "orders")
            #expect(try await send(.POST, group + "/ack", #"{"consumer":"w1","ids":["\#(first[0])"]}"#).status == 204)

            // Nack: retry once (retryCount 1), then retry again: parked after maxRetryCount 1; park at once.
            let more = try await Self.append(base, "orders", ["paid", "shipped"])
            #expect(Self.messages(try await send(.POST, group + "/read?consumer=w1&count=10")).map(\.id) == more)
            #expect(try await send(.POST, group + "/nack", #"{"consumer":"w1","ids":["\#(more[0])"],"action":"retry","reason":"later"}"#).status == 204)
            let retried = Self.messages(try await send(.POST, group + "/read?consumer=w1&count=10"))
            #expect(retried.map(\.id) == [more[0]] && retried.map(\.retryCount) == [1])
            #expect(try await send(.POST, group + "/nack", #"{"consumer":"w1","ids":["\#(more[0])"],"action":"retry","reason":"still failing"}"#).status == 204)
            #expect(try await send(.POST, group + "/nack", #"{"consumer":"w1","ids":["\#(more[1])"],"action":"park","reason":"bad data"}"#).status == 204)

            // The parked page, a page at a time.
            let parked = try await send(.GET, group + "/parked")
            let entries = parked.json["parked"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["type"] as? String } == ["paid", "shipped"], "\(parked.text)")
            #expect(entries.map { $0["error"] as? String } == ["still failing", "bad data"])
            #expect(entries.first?["attempts"] as? Int == 2 && parked.json["next"] == nil)
            let onePage = try await send(.GET, group + "/parked?limit=1")
            #expect((onePage.json["parked"] as? [Any])?.count == 1)
            let next = try #require(onePage.json["next"] as? Int)
            let secondPage = try await send(.GET, group + "/parked?limit=1&after=\(next)")
            #expect((secondPage.json["parked"] as? [[String: Any]])?.first?["type"] as? String == "shipped")
            #expect(try await send(.GET, group + "/parked?limit=0").status == 400)

            var info = try await send(.GET, group + "/info").json
            #expect(info["parkedCount"] as? Int == 2 && info["totalAcked"] as? Int == 1 && info["totalNacked"] as? Int == 3, "\(info)")
            #expect(info["inFlightCount"] as? Int == 0 && info["lastKnownEvent"] as? Int == 3 && info["status"] as? String == "live")
            #expect(info["lastCheckpoint"] as? Int == 3)
            #expect((info["name"] as? [String: Any])?["group"] as? String == "billing")

            // Replay one parked event (the oldest): handed out again with retryCount 0; acked, it leaves the parked set.
            let replayed = try await send(.POST, group + "/replayParked?limit=1")
            #expect(replayed.status == 200 && replayed.json["queued"] as? Int == 1, "\(replayed.text)")
            #expect(try await send(.POST, group + "/replayParked?limit=0").status == 400)
            let again = Self.messages(try await send(.POST, group + "/read?consumer=w2&count=10"))
            #expect(again.map(\.id) == [more[0]] && again.map(\.retryCount) == [0])
            #expect(try await send(.POST, group + "/ack", #"{"consumer":"w2","ids":["\#(more[0])"]}"#).status == 204)
            info = try await send(.GET, group + "/info").json
            #expect(info["parkedCount"] as? Int == 1 && info["totalAcked"] as? Int == 2)
            #expect((info["connections"] as? [[String: Any]])?.map { $0["consumer"] as? String } == ["w1", "w2"])

            // /metrics: the group's gauges.
            let metrics = try await send(.GET, base + "/metrics").text
            for line in [#"strata_persistent_subscription_parked{subscription="orders::billing"} 1"#,
                         #"strata_persistent_subscription_acked{subscription="orders::billing"} 2"#,
                         #"strata_persistent_subscription_nacked{subscription="orders::billing"} 3"#,
                         #"strata_persistent_subscription_connections{subscription="orders::billing"} 2"#,
                         #"strata_persistent_subscription_last_known_event{subscription="orders::billing"} 3"#,
                         #"strata_persistent_subscription_in_flight{subscription="orders::billing"} 0"#] {
                #expect(metrics.contains(line), "\(line) in \(metrics)")
            }

            // A $all group with a filter, and an update.
            let all = base + "/subscriptions/%24all/audit"
            #expect(try await send(.PUT, all, #"{"filter":{"streamPrefixes":["ord"]},"settings":{"maxSubscriberCount":1}}"#).status == 201)
            _ = try await Self.append(base, "users", ["joined"])
            let audited = Self.messages(try await send(.POST, all + "/read?consumer=a&count=100"))
            #expect(audited.map(\.type) == ["placed", "paid", "shipped"])
            let full = try await send(.POST, all + "/read?consumer=b")
            #expect(full.status == 409 && full.errorCode == "maximum-subscribers-reached", "\(full.text)")
            let updated = try await send(.POST, all, #"{"settings":{"maxSubscriberCount":2}}"#)
            #expect(updated.status == 200 && (updated.json["settings"] as? [String: Any])?["maxSubscriberCount"] as? Int == 2, "\(updated.text)")
            #expect(updated.json["filter"] == nil || updated.json["filter"] is NSNull)
            #expect(try await send(.POST, all, #"{"settings":{"bufferSize":1}}"#).status == 400)
            let list = try await send(.GET, base + "/subscriptions").json["subscriptions"] as? [[String: Any]] ?? []
            #expect(list.map { "\($0["stream"] ?? "")::\($0["group"] ?? "")" } == ["$all::audit", "orders::billing"])
            #expect(list.allSatisfy { $0["runningHere"] as? Bool == true && $0["stats"] is [String: Any] })

            // Delete: 204, then 404.
            #expect(try await send(.DELETE, group).status == 204)
            #expect(try await send(.GET, group + "/info").status == 404)
            #expect(try await send(.GET, group + "/parked").status == 404)
            #expect(try await send(.DELETE, group).status == 404)
            #expect(!(try await send(.GET, base + "/metrics").text.contains(#"subscription="orders::billing""#)))
        }
    }

    @Test("a read that waits holds one of the key's subscriber slots, as /wait does; one without a wait holds none")
    func waitingReadsCountAsSubscribers() async throws {
        let (server, _) = try await Self.server(limits: ServerLimits(maxSubscribersPerKey: 1))
        try await Self.stopping([server]) {
            let group = server.baseURL + "/subscriptions/orders/billing"
            #expect(try await HTTPTestClient.send(.PUT, group, body: "{}").status == 201)
            let waiting = Task { try await HTTPTestClient.send(.POST, group + "/read?consumer=a&wait=20000", body: "").status }
            try await Wait.until("the read to wait", interval: .milliseconds(20)) {
                try await HTTPTestClient.send(.GET, server.baseURL + "/stats").json["subscribers"] as? Int == 1
            }
            let refused = try await HTTPTestClient.send(.POST, group + "/read?consumer=b&wait=100", body: "")
            #expect(refused.status == 429 && refused.errorCode == "too-many-subscribers", "\(refused.text)")
            #expect(try await HTTPTestClient.send(.POST, group + "/read?consumer=b", body: "").status == 200)
            _ = try await Self.append(server.baseURL, "orders", ["placed"])
            #expect(try await waiting.value == 200)
            #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/stats").json["subscribers"] as? Int == 0)
        }
    }

    @Test("without a registry every /subscriptions route answers 501 unsupported")
    func withoutRegistry() async throws {
        let server = try await TestServer()
        try await Self.stopping([server]) {
            for (method, path) in [(HTTPMethod.GET, "/subscriptions"), (.PUT, "/subscriptions/s/g"), (.POST, "/subscriptions/s/g/read?consumer=c"),
                                   (.GET, "/subscriptions/s/g/parked")] {
                let answer = try await HTTPTestClient.send(method, server.baseURL + path, body: Self.emptyBody(method))
                #expect(answer.status == 501 && answer.errorCode == "unsupported", "\(path): \(answer.text)")
            }
        }
    }

    @Test("creating, updating, deleting and replaying need admin; list, info, read, ack, nack and parked need read; a prefix key sees its streams' groups only")
    func scopes() async throws {
        let (server, _) = try await Self.server(keys: [Self.admin, Self.reader, Self.writer, Self.ordersReader])
        try await Self.stopping([server]) {
            let base = server.baseURL
            func send(_ method: HTTPMethod, _ path: String, _ key: APIKey, _ body: String? = nil) async throws -> HTTPTestClient.Answer {
                try await HTTPTestClient.send(method, base + path, body: body ?? Self.emptyBody(method), headers: Self.auth(key))
            }
            let group = "/subscriptions/orders-1/billing"
            for key in [Self.reader, Self.writer, Self.ordersReader] {
                #expect(try await send(.PUT, group, key, "{}").status == 403, "\(key.name)")
            }
            #expect(try await send(.PUT, group, Self.admin, "{}").status == 201)
            #expect(try await send(.PUT, "/subscriptions/other/billing", Self.admin, "{}").status == 201)
            #expect(try await send(.PUT, "/subscriptions/%24all/audit", Self.admin, "{}").status == 201)
            _ = try await Self.append(base, "orders-1", ["placed"], key: Self.admin)
            for key in [Self.reader, Self.ordersReader] {
                #expect(try await send(.POST, group, key, "{}").status == 403)
                #expect(try await send(.DELETE, group, key).status == 403)
                #expect(try await send(.POST, group + "/replayParked", key, "{}").status == 403)
                #expect(try await send(.GET, group + "/info", key).status == 200)
                #expect(try await send(.GET, group + "/parked", key).status == 200)
            }
            let read = try await send(.POST, group + "/read?consumer=c&count=5", Self.ordersReader)
            let id = try #require(Self.messages(read).first?.id, "\(read.text)")
            #expect(try await send(.POST, group + "/nack", Self.ordersReader, #"{"consumer":"c","ids":["\#(id)"],"action":"retry"}"#).status == 204)
            #expect(Self.messages(try await send(.POST, group + "/read?consumer=c&count=5", Self.reader)).first?.retryCount == 1)
            #expect(try await send(.POST, group + "/ack", Self.reader, #"{"consumer":"c","ids":["\#(id)"]}"#).status == 204)
            // A write-only key reads nothing.
            #expect(try await send(.POST, group + "/read?consumer=c", Self.writer).status == 403)
            #expect(try await send(.GET, "/subscriptions", Self.writer).status == 403)
            // The prefix key: its streams' groups only, no $all group.
            #expect(try await send(.GET, "/subscriptions/other/billing/info", Self.ordersReader).status == 403)
            #expect(try await send(.POST, "/subscriptions/%24all/audit/read?consumer=c", Self.ordersReader).status == 403)
            let mine = try await send(.GET, "/subscriptions", Self.ordersReader).json["subscriptions"] as? [[String: Any]] ?? []
            #expect(mine.map { $0["stream"] as? String } == ["orders-1"])
            #expect((try await send(.GET, "/subscriptions", Self.reader).json["subscriptions"] as? [Any])?.count == 3)
            #expect(try await send(.POST, "/subscriptions/%24all/audit/replayParked", Self.admin).status == 200)
            #expect(try await send(.DELETE, group, Self.admin).status == 204)
        }
    }

    @Test("two servers over one store and one checkpoint store: the second redirects (307) to the one running the group, then serves it from the checkpoint once that one stops")
    func twoInstances() async throws {
        let store = InMemoryEventStore()
        let checkpoints = MemoryCheckpointStore()
        let port = try LoopbackPort.free()
        let firstURL = "http://127.0.0.1:\(port)"
        var configuration = ServerConfiguration(port: 0)
        configuration.persistentSubscriptions = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: firstURL, leaseDuration: .seconds(600))
        let first = try await TestServer(store: store, configuration: configuration, port: port)
        // Created through the first, which takes it, before the second runs: nothing else can take it in between.
        let path = "/subscriptions/orders/billing"
        let created = try await HTTPTestClient.send(.PUT, first.baseURL + path, body: #"{"settings":{"minCheckpointCount":1,"checkpointAfterMilliseconds":0}}"#)
        #expect(created.status == 201)
        configuration.persistentSubscriptions = PersistentSubscriptions(store: store, checkpoints: checkpoints, instance: "http://second.invalid", leaseDuration: .seconds(600))
        let second: TestServer
        do { second = try await TestServer(store: store, configuration: configuration) } catch {
            await first.stop()
            throw error
        }
        var firstRunning = true
        do {
            let ids = try await Self.append(first.baseURL, "orders", ["a", "b", "c"])

            // The second instance sends clients to the first, with the same path and query.
            let redirected = try await HTTPTestClient.send(.POST, second.baseURL + path + "/read?consumer=w&count=2", body: "", followingRedirects: false)
            #expect(redirected.status == 307, "\(redirected.text)")
            #expect(redirected.headers.first(name: "Location") == firstURL + path + "/read?consumer=w&count=2")
            #expect(redirected.errorCode == "owned-elsewhere")
            let info = try await HTTPTestClient.send(.GET, second.baseURL + path + "/info", followingRedirects: false)
            #expect(info.status == 307 && info.headers.first(name: "Location") == firstURL + path + "/info")
            // Followed (307 keeps the method and the body): served by the first.
            let read = try await HTTPTestClient.send(.POST, second.baseURL + path + "/read?consumer=w&count=2", body: "")
            #expect(Self.messages(read).map(\.id) == Array(ids.prefix(2)), "\(read.text)")
            #expect(try await HTTPTestClient.send(.POST, second.baseURL + path + "/ack", body: #"{"consumer":"w","ids":["\#(ids[0])"]}"#).status == 204)
            #expect(try await HTTPTestClient.send(.GET, first.baseURL + path + "/info").json["totalAcked"] as? Int == 1)
            // The parked page is the checkpoint store's: either instance answers it.
            #expect(try await HTTPTestClient.send(.GET, second.baseURL + path + "/parked", followingRedirects: false).status == 200)
            // A group whose lease an instance holds under a name that is no URL: 409 naming it.
            _ = try await checkpoints.acquire("persistent-subscriptions/orders::local", owner: "worker-7", for: .seconds(600))
            #expect(try await HTTPTestClient.send(.PUT, second.baseURL + "/subscriptions/orders/local", body: "{}").status == 201)
            let elsewhere = try await HTTPTestClient.send(.GET, second.baseURL + "/subscriptions/orders/local/info")
            #expect(elsewhere.status == 409 && elsewhere.errorCode == "owned-elsewhere", "\(elsewhere.text)")
            #expect(((elsewhere.json["error"] as? [String: Any])?["details"] as? [String: Any])?["owner"] as? String == "worker-7")

            // The first stops (saving its checkpoint, releasing the group): the second takes the
            // group over from the checkpoint; the event in flight at the first is handed out again.
            await first.stop(closingStore: false)
            firstRunning = false
            let taken = try await HTTPTestClient.send(.POST, second.baseURL + path + "/read?consumer=w&count=10", body: "", followingRedirects: false)
            #expect(taken.status == 200, "\(taken.text)")
            #expect(Self.messages(taken).map(\.id) == Array(ids.dropFirst()))
            let stats = try await HTTPTestClient.send(.GET, second.baseURL + path + "/info", followingRedirects: false).json
            #expect(stats["lastCheckpoint"] as? Int == 1 && stats["totalAcked"] as? Int == 0, "\(stats)")
        } catch {
            if firstRunning { await first.stop(closingStore: false) }
            await second.stop()
            throw error
        }
        await second.stop()
    }
}
