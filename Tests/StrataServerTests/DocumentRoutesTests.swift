import Foundation
import Strata
import StrataServer
import StrataTestSupport
import Testing

/// Strata Documents through `/documents/{collection}…`, as a plain HTTP client uses it.
@Suite("Documents over HTTP")
struct DocumentRoutesTests {
    static func object(_ answer: HTTPTestClient.Answer) -> [String: Any] { answer.json }

    @Test("put, get, patch, insert, query, count, keys and delete; errors are typed and store nothing")
    func crud() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let base = server.baseURL + "/documents/users"

        let ada = try await HTTPTestClient.send(.PUT, base + "/ada", body: #"{"name":"Ada","age":36,"tags":["math"]}"#)
        #expect(ada.status == 200)
        #expect((ada.json["data"] as? [String: Any])?["id"] as? String == "ada")
        #expect((ada.json["meta"] as? [String: Any])?["changes"] as? Int == 1)
        _ = try await HTTPTestClient.send(.PUT, base + "/bob", body: #"{"name":"Bob","age":17}"#)
        let grace = try await HTTPTestClient.send(.PUT, base + "/grace%20hopper", body: #"{"name":"Grace","age":85}"#)
        #expect(grace.status == 200)

        let got = try await HTTPTestClient.send(.GET, base + "/grace%20hopper")
        #expect((got.json["data"] as? [String: Any])?["name"] as? String == "Grace")

        // A stale expectedChanges is a 409 and changes nothing.
        let stale = try await HTTPTestClient.send(.PUT, base + "/ada?expectedChanges=5", body: #"{"name":"Eve"}"#)
        #expect(stale.status == 409)
        let patched = try await HTTPTestClient.send(.PATCH, base + "/ada?expectedChanges=1", body: #"{"age":37,"tags":null}"#)
        #expect(patched.status == 200)
        let patchedData = patched.json["data"] as? [String: Any]
        #expect(patchedData?["age"] as? Int == 37 && patchedData?["name"] as? String == "Ada" && patchedData?["tags"] == nil)

        let inserted = try await HTTPTestClient.send(.POST, base, body: #"{"name":"Zed","age":40}"#)
        #expect(inserted.status == 201)
        let insertedKey = try #require((inserted.json["data"] as? [String: Any])?["id"] as? String)

        let query = try await HTTPTestClient.send(.POST, base + "/query",
                                                  body: #"{"filter":{"age":{"$gte":18}},"sort":[{"age":-1}],"project":["name"]}"#)
        #expect(query.status == 200)
        let names = (query.json["documents"] as? [[String: Any]])?.compactMap { ($0["data"] as? [String: Any])?["name"] as? String }
        #expect(names == ["Grace", "Zed", "Ada"])
        let count = try await HTTPTestClient.send(.POST, base + "/count", body: #"{"filter":{"age":{"$lt":18}}}"#)
        #expect(count.json["count"] as? Int == 1)
        let keys = try await HTTPTestClient.send(.GET, base + "/keys?glob=" + "g*".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect(keys.json["keys"] as? [String] == ["grace hopper"])
        let all = try await HTTPTestClient.send(.GET, base + "/keys")
        #expect((all.json["keys"] as? [String])?.sorted() == ["ada", "bob", "grace hopper", insertedKey].sorted())

        // Bad input: typed errors, nothing stored.
        let head = try await server.store.headPosition()
        let malformed = try await HTTPTestClient.send(.PUT, base + "/x", body: #"{"name":"#)
        #expect(malformed.status == 400 && malformed.errorCode == "malformed-json")
        let notObject = try await HTTPTestClient.send(.PUT, base + "/x", body: "[1,2]")
        #expect(notObject.status == 400)
        let badOperator = try await HTTPTestClient.send(.POST, base + "/query", body: #"{"filter":{"age":{"$near":1}}}"#)
        #expect(badOperator.status == 400)
        let missingPatch = try await HTTPTestClient.send(.PATCH, base + "/nobody", body: #"{"a":1}"#)
        #expect(missingPatch.status == 404 && missingPatch.errorCode == "document-not-found")
        let badCollection = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/has-dash/k", body: "{}")
        #expect(badCollection.status == 400)
        #expect(try await server.store.headPosition() == head)

        let deleted = try await HTTPTestClient.send(.DELETE, base + "/bob")
        #expect(deleted.json["deleted"] as? Bool == true)
        let gone = try await HTTPTestClient.send(.GET, base + "/bob")
        #expect(gone.status == 404 && gone.errorCode == "document-not-found")
        let again = try await HTTPTestClient.send(.DELETE, base + "/bob")
        #expect(again.json["deleted"] as? Bool == false)

        // The documents are ordinary events on `<collection>-<key>` streams.
        let stream = try await HTTPTestClient.send(.GET, server.baseURL + "/streams/users-ada")
        #expect(stream.status == 200)
    }

    @Test("a change subscription over SSE delivers matching changes, leaving ones with matches false, and deletes")
    func subscribe() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let base = server.baseURL + "/documents/people"
        _ = try await HTTPTestClient.send(.PUT, base + "/old", body: #"{"age":50}"#)
        let filter = #"{"age":{"$gte":18}}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let fired = Flag()
        let messages = try await SSETestReader.read(base + "/subscribe?filter=" + filter) { messages in
            if messages.first?.event == "subscribed", fired.set() {
                Task {
                    _ = try await HTTPTestClient.send(.PUT, base + "/kid", body: #"{"age":10}"#)
                    _ = try await HTTPTestClient.send(.PUT, base + "/ann", body: #"{"age":30}"#)
                    _ = try await HTTPTestClient.send(.PATCH, base + "/ann", body: #"{"age":12}"#)
                    _ = try await HTTPTestClient.send(.DELETE, base + "/old")
                }
            }
            return messages.filter { $0.event == "change" }.count == 3
        }
        let changes = try messages.filter { $0.event == "change" }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.data.utf8)) as? [String: Any])
        }
        #expect(changes.map { $0["key"] as? String } == ["ann", "ann", "old"])
        #expect(changes.map { $0["matches"] as? Bool } == [true, false, false])
        #expect(changes.map { ($0["event"] as? [String: Any])?["type"] as? String } == ["put", "patch", "delete"])
        #expect(((changes[2]["event"] as? [String: Any])?["oldData"] as? [String: Any])?["age"] as? Int == 50)
    }

    @Test("scopes and stream prefixes apply to documents")
    func access() async throws {
        let writer = APIKey(name: "users-writer", key: "users-writer-0123456789", scopes: [.read, .write], streamPrefix: "users-")
        let reader = APIKey(name: "reader", key: "reader-key-0123456789", scopes: [.read])
        let server = try await TestServer(configuration: ServerConfiguration(port: 0, apiKeys: [writer, reader]))
        defer { Task { await server.stop() } }
        let auth = [("Authorization", "Bearer \(writer.key!)")]
        let ok = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/users/u1", body: "{}", headers: auth)
        #expect(ok.status == 200)
        let outside = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/orders/o1", body: "{}", headers: auth)
        #expect(outside.status == 403)
        let readOnly = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/users/u2", body: "{}",
                                                     headers: [("Authorization", "Bearer \(reader.key!)")])
        #expect(readOnly.status == 403 && readOnly.errorCode == "forbidden")
        let anonymous = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/users/u1")
        #expect(anonymous.status == 401)
        let read = try await HTTPTestClient.send(.GET, server.baseURL + "/documents/users/u1", headers: [("Authorization", "Bearer \(reader.key!)")])
        #expect(read.status == 200)
    }
}
