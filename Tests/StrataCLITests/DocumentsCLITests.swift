import Foundation
import StrataTestSupport
import Testing

/// `strata documents …` (docs/CLI.md, "strata documents"), run as a child process.
@Suite("strata documents")
struct DocumentsCLITests {
    static func documents(_ arguments: [String], _ dir: TemporaryDirectory) async throws -> ChildProcess.Outcome {
        try await CLIProcess.run(["documents"] + arguments + ["--store", dir.store], in: dir.url)
    }

    static func data(_ line: String) throws -> [String: Any]? { try jsonObject(line)["data"] as? [String: Any] }

    @Test("put, get, keys, query, delete, history, --at reads and restore; errors exit 1, 2 and 3")
    func documentsAndTheirPast() async throws {
        let dir = try TemporaryDirectory("cli-documents")
        defer { dir.remove() }
        let put = try await Self.documents(["put", "users", "ada", #"{"name":"Ada","v":1}"#], dir)
        #expect(put.status == 0, "\(put)")
        #expect(try Self.data(put.lines[0])?["id"] as? String == "ada")
        #expect(try (jsonObject(put.lines[0])["meta"] as? [String: Any])?["changes"] as? Int == 1)
        let point = try #require(try jsonObject(try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url).lines.last!)["position"] as? Int)
        #expect(try await Self.documents(["put", "users", "ada", #"{"name":"Ada","v":2}"#, "--expected-changes", "1"], dir).status == 0)
        #expect(try await Self.documents(["put", "users", "bob", #"{"name":"Bob","v":1}"#], dir).status == 0)

        let got = try await Self.documents(["get", "users", "ada"], dir)
        #expect(got.status == 0 && got.lines.count == 1, "\(got)")
        #expect(try Self.data(got.lines[0])?["v"] as? Int == 2)
        let keys = try await Self.documents(["keys", "users"], dir)
        #expect(keys.lines == [#""ada""#, #""bob""#], "\(keys)")
        #expect(try await Self.documents(["keys", "users", "--glob", "b*"], dir).lines == [#""bob""#])
        let query = try await Self.documents(["query", "users", #"{"v":{"$gte":1}}"#, "--options", #"{"sort":["-name"],"project":["name"]}"#], dir)
        #expect(try query.lines.map { try Self.data($0)?["name"] as? String } == ["Bob", "Ada"], "\(query)")

        // The past: get, keys and query --at a position.
        let then = try await Self.documents(["get", "users", "ada", "--at", String(point)], dir)
        #expect(try Self.data(then.lines[0])?["v"] as? Int == 1, "\(then)")
        #expect(try await Self.documents(["keys", "users", "--at", String(point)], dir).lines == [#""ada""#])
        #expect(try await Self.documents(["query", "users", "--at", String(point)], dir).lines.count == 1)
        #expect(try await Self.documents(["keys", "users", "--at", "2001-01-01T00:00:00Z"], dir).lines.isEmpty)

        let deleted = try await Self.documents(["delete", "users", "bob"], dir)
        #expect(deleted.lines == [#"{"deleted":true}"#], "\(deleted)")
        #expect(try await Self.documents(["delete", "users", "bob"], dir).lines == [#"{"deleted":false}"#])
        let history = try await Self.documents(["history", "users", "ada"], dir)
        #expect(try history.lines.map { try jsonObject($0)["operation"] as? String } == ["put", "put"], "\(history)")
        #expect(try jsonObject(history.lines[0])["position"] as? Int == point)
        #expect(try await Self.documents(["history", "users", "nobody"], dir).lines.isEmpty)

        let restored = try await Self.documents(["restore", "users", String(point)], dir)
        #expect(restored.status == 0, "\(restored)")
        let report = try jsonObject(restored.lines[0])
        #expect(report["written"] as? Int == 1 && report["deleted"] as? Int == 0 && report["totalDocs"] as? Int == 1, "\(restored)")
        #expect(try Self.data(try await Self.documents(["get", "users", "ada"], dir).lines[0])?["v"] as? Int == 1)

        // Errors: a missing document 1, bad input 2, a conflict 3; nothing stored.
        let before = try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url).lines.count
        let missing = try await Self.documents(["get", "users", "nobody"], dir)
        #expect(missing.status == 1 && missing.errorLines == [#"error: no document "nobody" in collection "users""#], "\(missing)")
        #expect(try await Self.documents(["put", "bad-name", "k", "{}"], dir).status == 2)
        #expect(try await Self.documents(["put", "users", "k", "[1]"], dir).status == 2)
        #expect(try await Self.documents(["put", "users", "k", "{"], dir).status == 2)
        #expect(try await Self.documents(["query", "users", #"{"v":{"$near":1}}"#], dir).status == 2)
        #expect(try await Self.documents(["get", "users", "ada", "--at", "soon"], dir).status == 2)
        #expect(try await Self.documents(["restore", "users", "999999"], dir).status == 2)
        #expect(try await Self.documents(["keys", "users", "--glob", "a", "--pattern", "b"], dir).status == 2)
        let conflict = try await Self.documents(["put", "users", "ada", "{}", "--expected-changes", "1"], dir)
        #expect(conflict.status == 3, "\(conflict)")
        #expect(try await CLIProcess.run(["read", "$all", "--store", dir.store], in: dir.url).lines.count == before)
    }

    @Test("put and delete --cdc record changes; changes pages them after a bookmark and --follow prints new ones until SIGTERM")
    func changes() async throws {
        let dir = try TemporaryDirectory("cli-changes")
        defer { dir.remove() }
        #expect(try await Self.documents(["put", "users", "ada", #"{"v":1}"#, "--cdc"], dir).status == 0)
        #expect(try await Self.documents(["put", "users", "ada", #"{"v":2}"#, "--cdc"], dir).status == 0)
        #expect(try await Self.documents(["put", "users", "bob", #"{"v":1}"#], dir).status == 0)    // no --cdc: no change
        let all = try await Self.documents(["changes", "users"], dir)
        #expect(all.status == 0, "\(all)")
        let changes = try all.lines.map(jsonObject)
        #expect(changes.map { $0["type"] as? String } == ["collection.insert", "collection.update"])
        #expect((changes[1]["prev"] as? [String: Any])?["v"] as? Int == 1, "--cdc records prev")
        let first = try #require(changes[0]["bookmark"] as? Int)
        let after = try await Self.documents(["changes", "users", "--after", String(first)], dir)
        #expect(try after.lines.map { try jsonObject($0)["type"] as? String } == ["collection.update"])
        #expect(try await Self.documents(["changes", "users", "--limit", "1"], dir).lines.count == 1)
        #expect(try await Self.documents(["changes", "bad-name"], dir).status == 2)

        let strata = try #require(CLIProcess.executable)
        let follow = try ChildProcess.start(strata, ["documents", "changes", "users", "--follow", "--store", dir.store], directory: dir.path)
        try await follow.waitForLines("the two recorded changes") { $0.count == 2 }
        let deleted = try await Self.documents(["delete", "users", "ada", "--cdc"], dir)
        #expect(deleted.lines == [#"{"deleted":true}"#], "\(deleted)")
        try await follow.waitForLines("the delete, live") { $0.count == 3 }
        #expect(try jsonObject(follow.lines[2])["type"] as? String == "collection.delete")
        #expect(try await follow.stop(), "SIGTERM ends --follow")
        #expect(follow.status == 0)
    }

    @Test("snapshot create, list, read, restore and delete in --snapshots DIR; a missing or bad key exits 2")
    func snapshots() async throws {
        let dir = try TemporaryDirectory("cli-snapshots")
        defer { dir.remove() }
        let folder = dir.appending("snapshots-root")
        func snapshot(_ arguments: [String]) async throws -> ChildProcess.Outcome {
            try await Self.documents(["snapshot"] + arguments + ["--snapshots", folder], dir)
        }
        #expect(try await Self.documents(["put", "users", "ada", #"{"v":1}"#], dir).status == 0)
        #expect(try await Self.documents(["put", "orders", "o1", #"{"total":5}"#], dir).status == 0)
        let created = try await snapshot(["create", "shop-1", "users", "orders"])
        #expect(created.status == 0, "\(created)")
        let info = try jsonObject(created.lines[0])
        let key = try #require(info["key"] as? String)
        #expect(info["totalDocs"] as? Int == 2 && info["collections"] as? [String] == ["users", "orders"])
        #expect(FileManager.default.fileExists(atPath: folder + "/" + key))
        let listed = try await snapshot(["list", "shop-1"])
        #expect(try listed.lines.map { try jsonObject($0)["key"] as? String } == [key], "\(listed)")
        let read = try await snapshot(["read", key])
        #expect(((try jsonObject(read.lines[0])["data"] as? [String: Any])?["orders"] as? [String: Any])?["o1"] != nil, "\(read)")

        #expect(try await Self.documents(["put", "users", "ada", #"{"v":2}"#], dir).status == 0)
        #expect(try await Self.documents(["put", "users", "cy", #"{"v":1}"#], dir).status == 0)
        let restored = try await snapshot(["restore", key, "--cdc"])
        #expect(restored.status == 0, "\(restored)")
        let report = try jsonObject(restored.lines[0])
        #expect(report["written"] as? Int == 1 && report["deleted"] as? Int == 1 && report["unchanged"] as? Int == 1, "\(restored)")
        #expect(try Self.data(try await Self.documents(["get", "users", "ada"], dir).lines[0])?["v"] as? Int == 1)
        #expect(try await Self.documents(["changes", "users"], dir).lines.count == 2, "--cdc restores record their writes")

        let removed = try await snapshot(["delete", key])
        #expect(removed.status == 0 && removed.lines == [#"{"deleted":"\#(key)"}"#], "\(removed)")
        for arguments in [["read", key], ["restore", key], ["delete", key], ["read", "../etc/passwd"], ["list", "bad id"], ["create", "..", "users"]] {
            let refused = try await snapshot(arguments)
            #expect(refused.status == 2, "\(arguments): \(refused)")
        }
        #expect(try await snapshot(["list", "shop-1"]).lines.isEmpty)
    }
}
