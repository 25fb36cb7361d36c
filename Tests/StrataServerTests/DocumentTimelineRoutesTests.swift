import Foundation
import NIOHTTP1
import Strata
import StrataDocuments
import StrataServer
import StrataTestSupport
import Testing

/// History, points in time, restores, CDC changes and snapshots over HTTP
/// (docs/SERVER.md, "History, points in time, restores, snapshots and changes").
@Suite("Document history, points in time, snapshots and changes over HTTP")
struct DocumentTimelineRoutesTests {
    static func head(_ server: TestServer) async throws -> UInt64 { try await server.store.headPosition() }
    static func data(_ answer: HTTPTestClient.Answer) -> [String: Any]? { answer.json["data"] as? [String: Any] }
    static func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    @Test("history lists every version; ?at= reads a key, keys, a query and a count as they were; bad points are typed 400s")
    func historyAndPointInTime() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let base = server.baseURL + "/documents/users"
        _ = try await HTTPTestClient.send(.PUT, base + "/ada", body: #"{"name":"Ada","v":1}"#)
        let p1 = try await Self.head(server)
        _ = try await HTTPTestClient.send(.PATCH, base + "/ada", body: #"{"v":2}"#)
        let p2 = try await Self.head(server)
        _ = try await HTTPTestClient.send(.PUT, base + "/bob", body: #"{"name":"Bob","v":1}"#)
        _ = try await HTTPTestClient.send(.DELETE, base + "/ada")
        let p4 = try await Self.head(server)

        let history = try await HTTPTestClient.send(.GET, base + "/ada/history")
        #expect(history.status == 200, "\(history.text)")
        let versions = try #require(history.json["versions"] as? [[String: Any]])
        #expect(versions.map { $0["operation"] as? String } == ["put", "patch", "delete"])
        #expect(versions.map { $0["position"] as? Int } == [Int(p1), Int(p2), Int(p4)])
        #expect(versions.map { $0["revision"] as? Int } == [1, 2, 3])
        #expect((versions[1]["data"] as? [String: Any])?["v"] as? Int == 2)
        #expect((versions[1]["meta"] as? [String: Any])?["changes"] as? Int == 2)
        #expect(versions[2]["data"] is NSNull && versions[2]["meta"] is NSNull)
        #expect((versions[0]["timestamp"] as? String)?.hasSuffix("Z") == true)
        let never = try await HTTPTestClient.send(.GET, base + "/nobody/history")
        #expect(never.status == 404 && never.errorCode == "document-not-found")
        // A page at a time: `next` continues it, the last page has none.
        let first = try await HTTPTestClient.send(.GET, base + "/ada/history?limit=2")
        #expect((first.json["versions"] as? [[String: Any]])?.map { $0["revision"] as? Int } == [1, 2] && first.json["next"] as? Int == 2)
        let rest = try await HTTPTestClient.send(.GET, base + "/ada/history?after=2&limit=2")
        #expect((rest.json["versions"] as? [[String: Any]])?.map { $0["operation"] as? String } == ["delete"] && rest.json["next"] == nil)
        let past = try await HTTPTestClient.send(.GET, base + "/ada/history?after=3")
        #expect(past.status == 200 && (past.json["versions"] as? [Any])?.isEmpty == true)
        #expect(try await HTTPTestClient.send(.GET, base + "/ada/history?limit=0").status == 400)

        // The key as it was at each position; deleted by p4.
        #expect(Self.data(try await HTTPTestClient.send(.GET, base + "/ada?at=\(p1)"))?["v"] as? Int == 1)
        #expect(Self.data(try await HTTPTestClient.send(.GET, base + "/ada?at=\(p2)"))?["v"] as? Int == 2)
        let deleted = try await HTTPTestClient.send(.GET, base + "/ada?at=\(p4)")
        #expect(deleted.status == 404 && deleted.errorCode == "document-not-found")
        let keys = try await HTTPTestClient.send(.GET, base + "/keys?at=\(p2)")
        #expect(keys.json["keys"] as? [String] == ["ada"] && keys.json["position"] as? Int == Int(p2), "\(keys.text)")
        let globbed = try await HTTPTestClient.send(.GET, base + "/keys?glob=b*&at=\(p4)")
        #expect(globbed.json["keys"] as? [String] == ["bob"])
        let query = try await HTTPTestClient.send(.POST, base + "/query?at=\(p2)", body: #"{"filter":{"v":2}}"#)
        #expect((query.json["documents"] as? [[String: Any]])?.count == 1 && query.json["position"] as? Int == Int(p2), "\(query.text)")
        let count = try await HTTPTestClient.send(.POST, base + "/count?at=\(p4)", body: #"{"filter":{}}"#)
        #expect(count.json["count"] as? Int == 1 && count.json["position"] as? Int == Int(p4))
        // Without `at`, the present (and no `position` member).
        let now = try await HTTPTestClient.send(.GET, base + "/keys")
        #expect(now.json["keys"] as? [String] == ["bob"] && now.json["position"] == nil)

        // A time: the recorded time of the patch includes it.
        let events = try await HTTPTestClient.send(.GET, server.baseURL + "/streams/users-ada")
        let patchTime = try #require((events.json["events"] as? [[String: Any]])?[1]["recordedAt"] as? String)
        let atTime = try await HTTPTestClient.send(.GET, base + "/ada?at=" + Self.encoded(patchTime))
        #expect(Self.data(atTime)?["v"] as? Int == 2, "\(atTime.text)")
        let beforeAll = try await HTTPTestClient.send(.GET, base + "/keys?at=" + Self.encoded("2001-01-01T00:00:00Z"))
        #expect(beforeAll.json["keys"] as? [String] == [] && beforeAll.json["position"] as? Int == 0)

        for bad in ["yesterday", "12x", Self.encoded("2026-13-01T00:00:00Z"), "\(p4 + 100)"] {
            let answer = try await HTTPTestClient.send(.GET, base + "/ada?at=" + bad)
            #expect(answer.status == 400 && answer.errorCode == "invalid-argument", "\(bad): \(answer.text)")
        }
        let unknown = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/never/keys?at=1")
        #expect(unknown.status == 404 && unknown.errorCode == "collection-not-found")
        let badName = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/bad-name/ada/history")
        #expect(badName.status == 400 && badName.errorCode == "invalid-argument")
    }

    @Test("restore makes a collection what it was at a position or a time, in one append; bad bodies store nothing")
    func restore() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let base = server.baseURL + "/documents/users"
        _ = try await HTTPTestClient.send(.PUT, base + "/ada", body: #"{"v":1}"#)
        _ = try await HTTPTestClient.send(.PUT, base + "/bob", body: #"{"v":1}"#)
        let point = try await Self.head(server)
        _ = try await HTTPTestClient.send(.PUT, base + "/ada", body: #"{"v":2}"#)
        _ = try await HTTPTestClient.send(.DELETE, base + "/bob")
        _ = try await HTTPTestClient.send(.PUT, base + "/cy", body: #"{"v":1}"#)

        let head = try await Self.head(server)
        for body in [#"{"at":true}"#, #"{"at":-1}"#, #"{"when":1}"#, "{}", #"{"at":"soon"}"#, #"{"at":\#(head + 10)}"#] {
            let refused = try await HTTPTestClient.send(.POST, base + "/restore", body: body)
            #expect(refused.status == 400, "\(body): \(refused.text)")
        }
        #expect(try await Self.head(server) == head)

        let restored = try await HTTPTestClient.send(.POST, base + "/restore", body: #"{"at":\#(point)}"#)
        #expect(restored.status == 200, "\(restored.text)")
        #expect(restored.json["collections"] as? [String] == ["users"])
        #expect(restored.json["written"] as? Int == 2 && restored.json["deleted"] as? Int == 1 && restored.json["totalDocs"] as? Int == 2)
        #expect(restored.json["position"] as? Int == Int(try await Self.head(server)))
        #expect(Self.data(try await HTTPTestClient.send(.GET, base + "/ada"))?["v"] as? Int == 1)
        #expect(try await HTTPTestClient.send(.GET, base + "/bob").status == 200)
        #expect(try await HTTPTestClient.send(.GET, base + "/cy").status == 404)
        // Restoring to where it already is (a time after every event) writes nothing.
        let now = ISO8601DateFormatter().string(from: Date().addingTimeInterval(60))
        let again = try await HTTPTestClient.send(.POST, base + "/restore", body: #"{"at":"\#(now)"}"#)
        #expect(again.status == 200 && again.json["written"] as? Int == 0 && again.json["unchanged"] as? Int == 2
                && again.json["position"] == nil, "\(again.text)")
    }

    @Test("changes: a page after a bookmark with next, and live over SSE with the bookmark as id; Last-Event-ID resumes")
    func changes() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let users = CDCCollection(try await DocumentStore.open(store: server.store, collection: "users"))
        let other = CDCCollection(try await DocumentStore.open(store: server.store, collection: "users.archive"))
        let first = try await users.put("ada", ["v": 1])
        _ = try await other.put("old", ["v": 1])                  // cdc-users.archive: not users's
        let second = try await users.put("ada", ["v": 2])
        let third = try #require(try await users.delete("ada"))
        let base = server.baseURL + "/documents/users/changes"

        let all = try await HTTPTestClient.send(.GET, base)
        #expect(all.status == 200, "\(all.text)")
        let changes = try #require(all.json["changes"] as? [[String: Any]])
        #expect(changes.map { $0["type"] as? String } == ["collection.insert", "collection.update", "collection.delete"])
        #expect(changes.map { $0["bookmark"] as? Int } == [first, second, third].map { Int($0.bookmark) })
        #expect((changes[1]["doc"] as? [String: Any])?["v"] as? Int == 2 && changes[0]["docId"] as? String == "ada")
        #expect(changes[0]["eventId"] as? String == first.eventId.uuidString.lowercased())
        #expect(all.json["next"] == nil)
        let page = try await HTTPTestClient.send(.GET, base + "?after=\(first.bookmark)&limit=1")
        #expect((page.json["changes"] as? [[String: Any]])?.map { $0["bookmark"] as? Int } == [Int(second.bookmark)])
        #expect(page.json["next"] as? Int == Int(second.bookmark))
        let rest = try await HTTPTestClient.send(.GET, base + "?after=\(second.bookmark)&limit=1")
        #expect((rest.json["changes"] as? [[String: Any]])?.count == 1)
        let none = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/orders/changes")
        #expect(none.status == 200 && (none.json["changes"] as? [Any])?.isEmpty == true)
        let bad = try await HTTPTestClient.send(.GET, base + "?after=-1")
        #expect(bad.status == 400 && bad.errorCode == "invalid-argument")

        // Live: the past, caught-up, then a new change as it is stored.
        let fired = Flag()
        let messages = try await SSETestReader.read(base + "/subscribe?after=\(first.bookmark)") { messages in
            if messages.contains(where: { $0.event == "caught-up" }), fired.set() {
                Task { _ = try await users.put("bob", ["v": 1]) }
            }
            return messages.filter { $0.event == "message" }.count == 3
        }
        let delivered = messages.filter { $0.event == "message" }
        #expect(delivered.prefix(2).map(\.id) == [String(second.bookmark), String(third.bookmark)])
        let live = try JSONSerialization.jsonObject(with: Data(delivered[2].data.utf8)) as? [String: Any]
        #expect(live?["docId"] as? String == "bob" && live?["type"] as? String == "collection.insert")
        #expect(delivered[2].id == String(describing: live?["bookmark"] as? Int ?? -1))
        #expect(messages.first(where: { $0.event == "caught-up" })?.data == #"{"position":\#(third.bookmark)}"#)
        // Resuming after the second change starts with the third.
        let resumed = try await SSETestReader.read(base + "/subscribe", headers: [("Last-Event-ID", String(second.bookmark))]) { messages in
            messages.contains { $0.event == "caught-up" }
        }
        #expect(resumed.filter { $0.event == "message" }.map(\.id) == [String(third.bookmark), delivered[2].id])
        let badResume = try await HTTPTestClient.send(.GET, base + "/subscribe", headers: [("Last-Event-ID", "x")])
        #expect(badResume.status == 400)
        try await users.documents.close()
        try await other.documents.close()
    }

    @Test("cdcCollections: the server's own writes of those collections record changes with the previous document; others record none")
    func serverRecordsChanges() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.cdcCollections = ["users"]
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let users = server.baseURL + "/documents/users"
        let put = try await HTTPTestClient.send(.PUT, users + "/ada", body: #"{"v":1}"#)
        #expect(put.status == 200 && Self.data(put)?["v"] as? Int == 1, "\(put.text)")
        let patched = try await HTTPTestClient.send(.PATCH, users + "/ada", body: #"{"w":2}"#)
        #expect(patched.status == 200 && Self.data(patched)?["w"] as? Int == 2 && Self.data(patched)?["v"] as? Int == 1, "\(patched.text)")
        let inserted = try await HTTPTestClient.send(.POST, users, body: #"{"v":9}"#)
        let newKey = try #require((inserted.json["meta"] as? [String: Any])?["id"] as? String)
        #expect(inserted.status == 201 && UUID(uuidString: newKey) != nil, "\(inserted.text)")
        let deleted = try await HTTPTestClient.send(.DELETE, users + "/ada")
        #expect(deleted.json["deleted"] as? Bool == true)
        #expect(try await HTTPTestClient.send(.DELETE, users + "/ada").json["deleted"] as? Bool == false)
        _ = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/orders/o1", body: #"{"total":5}"#)

        let changes = try #require(try await HTTPTestClient.send(.GET, users + "/changes").json["changes"] as? [[String: Any]])
        #expect(changes.map { $0["type"] as? String } == ["collection.insert", "collection.update", "collection.insert", "collection.delete"])
        #expect(changes.map { $0["docId"] as? String } == ["ada", "ada", newKey, "ada"])
        #expect((changes[1]["prev"] as? [String: Any])?["v"] as? Int == 1 && (changes[1]["doc"] as? [String: Any])?["w"] as? Int == 2)
        #expect((changes[3]["prev"] as? [String: Any])?["w"] as? Int == 2)
        let orders = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/orders/changes")
        #expect((orders.json["changes"] as? [Any])?.isEmpty == true, "a collection not listed records nothing")

        var bad = ServerConfiguration(port: 0)
        bad.cdcCollections = ["bad name"]
        #expect(throws: StrataError.self) { try bad.validate() }
    }

    @Test("snapshots: create, list, read, restore and delete; bad ids, names and missing snapshots are typed; 501 without a folder")
    func snapshots() async throws {
        let folder = try TemporaryDirectory("http-snapshots")
        defer { folder.remove() }
        var configuration = ServerConfiguration(port: 0)
        configuration.snapshotsDirectory = folder.path
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let docs = server.baseURL + "/documents"
        _ = try await HTTPTestClient.send(.PUT, docs + "/users/ada", body: #"{"v":1}"#)
        _ = try await HTTPTestClient.send(.PUT, docs + "/orders/o1", body: #"{"total":5}"#)

        let created = try await HTTPTestClient.send(.POST, server.baseURL + "/snapshots/shop-1", body: #"{"collections":["users","orders"]}"#)
        #expect(created.status == 201, "\(created.text)")
        let key = try #require(created.json["key"] as? String)
        #expect(key.hasPrefix("snapshots/shop-1/") && created.json["totalDocs"] as? Int == 2 && created.json["storeId"] as? String == "shop-1")
        #expect(FileManager.default.fileExists(atPath: folder.appending(key)))
        let path = server.baseURL + "/" + key

        let listed = try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/shop-1")
        #expect((listed.json["snapshots"] as? [[String: Any]])?.map { $0["key"] as? String } == [key])
        let read = try await HTTPTestClient.send(.GET, path)
        #expect(read.status == 200 && read.json["collections"] as? [String] == ["users", "orders"], "\(read.text)")
        #expect((((read.json["data"] as? [String: Any])?["users"] as? [String: Any])?["ada"] as? [String: Any])?["v"] as? Int == 1)
        // A snapshot larger than an answer may be is refused before it is loaded.
        var small = configuration
        small.limits.maxResponseBytes = 64
        let tight = try await TestServer(configuration: small)
        let tooLarge = try await HTTPTestClient.send(.GET, tight.baseURL + "/" + key)
        await tight.stop()
        #expect(tooLarge.status == 501 && tooLarge.errorCode == "unsupported" && tooLarge.text.contains("maxResponseBytes"), "\(tooLarge.text)")

        _ = try await HTTPTestClient.send(.PUT, docs + "/users/ada", body: #"{"v":2}"#)
        _ = try await HTTPTestClient.send(.PUT, docs + "/users/bob", body: #"{"v":1}"#)
        let restored = try await HTTPTestClient.send(.POST, path + "/restore", body: "{}")
        #expect(restored.status == 200 && restored.json["written"] as? Int == 1 && restored.json["deleted"] as? Int == 1
                && restored.json["unchanged"] as? Int == 1, "\(restored.text)")
        #expect(Self.data(try await HTTPTestClient.send(.GET, docs + "/users/ada"))?["v"] as? Int == 1)
        #expect(try await HTTPTestClient.send(.GET, docs + "/users/bob").status == 404)

        let head = try await Self.head(server)
        for (body, code) in [(#"{"collections":[]}"#, "invalid-argument"), (#"{"collections":["a-b"]}"#, "invalid-argument"),
                             (#"{"collections":"users"}"#, "malformed-json"), (#"{"collections":["users"],"x":1}"#, "malformed-json")] {
            let refused = try await HTTPTestClient.send(.POST, server.baseURL + "/snapshots/shop-1", body: body)
            #expect(refused.status == 400 && refused.errorCode == code, "\(body): \(refused.text)")
        }
        let badId = try await HTTPTestClient.send(.POST, server.baseURL + "/snapshots/bad%20id", body: #"{"collections":["users"]}"#)
        #expect(badId.status == 400 && badId.errorCode == "invalid-argument")
        let badName = try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/shop-1/passwd")
        #expect(badName.status == 400 && badName.errorCode == "invalid-argument")
        let escape = try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/%2E%2E/2026-01-01T00-00-00-000Z.json")
        #expect(escape.status == 400)
        #expect(try await Self.head(server) == head)

        #expect(try await HTTPTestClient.send(.DELETE, path).status == 204)
        #expect(!FileManager.default.fileExists(atPath: folder.appending(key)))
        for (method, url) in [(HTTPMethod.GET, path), (.DELETE, path), (.POST, path + "/restore")] {
            let missing = try await HTTPTestClient.send(method, url, body: method == .POST ? "{}" : nil)
            #expect(missing.status == 404 && missing.errorCode == "snapshot-not-found", "\(method) \(url): \(missing.text)")
        }
        let empty = try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/shop-1?limit=5")
        #expect((empty.json["snapshots"] as? [Any])?.isEmpty == true)

        let plain = try await TestServer()
        defer { Task { await plain.stop() } }
        let unsupported = try await HTTPTestClient.send(.GET, plain.baseURL + "/snapshots/shop-1")
        #expect(unsupported.status == 501 && unsupported.errorCode == "unsupported", "\(unsupported.text)")
    }

    @Test("scopes: reads need read, restores and snapshot changes admin; prefixed keys stay in their collections and out of snapshots")
    func scopes() async throws {
        let folder = try TemporaryDirectory("http-snapshot-scopes")
        defer { folder.remove() }
        let reader = APIKey(name: "reader", key: "reader-key-0123456789", scopes: [.read])
        let writer = APIKey(name: "writer", key: "writer-key-0123456789", scopes: [.read, .write])
        let admin = APIKey(name: "admin", key: "admin-key-0123456789", scopes: [.admin])
        let prefixed = APIKey(name: "users-admin", key: "users-admin-0123456789", scopes: [.admin], streamPrefix: "users-")
        var configuration = ServerConfiguration(port: 0, apiKeys: [reader, writer, admin, prefixed])
        configuration.snapshotsDirectory = folder.path
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        func auth(_ key: APIKey) -> [(String, String)] { [("Authorization", "Bearer \(key.key!)")] }
        let docs = server.baseURL + "/documents/users"
        #expect(try await HTTPTestClient.send(.PUT, docs + "/ada", body: "{}", headers: auth(writer)).status == 200)

        #expect(try await HTTPTestClient.send(.GET, docs + "/ada/history").status == 401)
        #expect(try await HTTPTestClient.send(.GET, docs + "/ada/history", headers: auth(reader)).status == 200)
        #expect(try await HTTPTestClient.send(.GET, docs + "/ada?at=1", headers: auth(reader)).status == 200)
        #expect(try await HTTPTestClient.send(.GET, docs + "/changes", headers: auth(reader)).status == 200)
        for key in [reader, writer] {
            let refused = try await HTTPTestClient.send(.POST, docs + "/restore", body: #"{"at":1}"#, headers: auth(key))
            #expect(refused.status == 403 && refused.errorCode == "forbidden")
            let create = try await HTTPTestClient.send(.POST, server.baseURL + "/snapshots/s1", body: #"{"collections":["users"]}"#, headers: auth(key))
            #expect(create.status == 403)
        }
        #expect(try await HTTPTestClient.send(.POST, docs + "/restore", body: #"{"at":1}"#, headers: auth(admin)).status == 200)
        #expect(try await HTTPTestClient.send(.POST, docs + "/restore", body: #"{"at":1}"#, headers: auth(prefixed)).status == 200)
        let created = try await HTTPTestClient.send(.POST, server.baseURL + "/snapshots/s1", body: #"{"collections":["users"]}"#, headers: auth(admin))
        let key = try #require(created.json["key"] as? String)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/s1", headers: auth(reader)).status == 200)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/" + key, headers: auth(reader)).status == 200)
        #expect(try await HTTPTestClient.send(.DELETE, server.baseURL + "/" + key, headers: auth(writer)).status == 403)
        #expect(try await HTTPTestClient.send(.POST, server.baseURL + "/" + key + "/restore", body: "{}", headers: auth(writer)).status == 403)
        // A prefixed key: its own collection's past and changes, no other's, no snapshots.
        #expect(try await HTTPTestClient.send(.GET, docs + "/changes", headers: auth(prefixed)).status == 200)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/documents/orders/changes", headers: auth(prefixed)).status == 403)
        #expect(try await HTTPTestClient.send(.POST, server.baseURL + "/documents/orders/restore", body: #"{"at":1}"#, headers: auth(prefixed)).status == 403)
        let snapshotList = try await HTTPTestClient.send(.GET, server.baseURL + "/snapshots/s1", headers: auth(prefixed))
        #expect(snapshotList.status == 403 && snapshotList.errorCode == "forbidden")
        #expect(try await HTTPTestClient.send(.POST, server.baseURL + "/" + key + "/restore", body: "{}", headers: auth(admin)).status == 200)
        #expect(try await HTTPTestClient.send(.DELETE, server.baseURL + "/" + key, headers: auth(admin)).status == 204)
    }
}
