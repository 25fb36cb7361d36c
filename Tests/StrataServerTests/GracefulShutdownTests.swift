import Foundation
import Strata
import StrataLog
import StrataTestSupport
import Testing

/// `strata serve` as a child process: SIGTERM shuts it down cleanly.
@Suite("strata serve process")
struct GracefulShutdownTests {
    /// The `strata` executable next to the test bundle (or `STRATA_CLI_PATH`).
    static let executable = Executable.built("strata", overriddenBy: "STRATA_CLI_PATH")

    @Test("SIGTERM ends subscriptions, finishes, closes the store and exits 0; the store reopens clean")
    func sigterm() async throws {
        let strata = try #require(Self.executable, "build the strata binary first")
        let dir = try TemporaryDirectory("serve")
        defer { dir.remove() }
        // Should anything below fail, the server dies with its handle (SIGKILL): no child survives the test.
        let server = try ChildProcess.start(strata, ["serve", "--store", "file:" + dir.appending("data"), "--port", "0", "--create"])
        let url = String(try await server.firstLine(startingWith: "listening ").dropFirst("listening ".count))
        let append = try await HTTPTestClient.send(.POST, url + "/streams/kept",
                                                   body: #"{"events":[{"type":"a","data":{"n":1}},{"type":"b","data":{"n":2}}]}"#)
        #expect(append.status == 200, "\(append.text)")
        // An open subscription must not hold the shutdown back.
        let subscription = Task { try await HTTPTestClient.readRaw(url + "/subscribe/$all", until: "never-sent", timeout: .seconds(60)) }
        try await Wait.until("the subscription to open", timeout: .seconds(10)) {
            let stats = try? await HTTPTestClient.send(.GET, url + "/stats")
            return stats?.json["subscribers"] as? Int == 1
        }

        server.signal(SIGTERM)
        let exited = try await server.waitForExit(timeout: .seconds(60))
        #expect(exited && server.exitedCleanly, "exit status \(server.status.map(String.init) ?? "?"); stderr: \(server.stderr)")
        #expect(server.stderr.contains("the store is closed"))
        let ended = try await subscription.value
        #expect(ended.contains("caught-up"), "the subscription was served, then ended by the shutdown")

        let store = try LogEventStore(directory: dir.appending("data"))
        let events = try await store.readStream("kept").collect()
        #expect(events.map(\.type) == ["a", "b"])
        try await store.close()
    }

    @Test("two strata serve over one SQLite file share its persistent subscription groups: the second redirects to the first's --advertise URL, takes the group over once the first stops, and a read waiting on it ends at its SIGTERM")
    func persistentSubscriptionsAcrossProcesses() async throws {
        let strata = try #require(Self.executable, "build the strata binary first")
        let dir = try TemporaryDirectory("serve-subscriptions")
        defer { dir.remove() }
        let store = "sqlite:" + dir.appending("events.db")
        let port = try LoopbackPort.free()
        let firstURL = "http://127.0.0.1:\(port)"
        let refused = try ChildProcess.start(strata, ["serve", "--store", store, "--create", "--port", "0", "--advertise", "ftp://x"])
        #expect(try await refused.waitForExit(timeout: .seconds(60)) && !refused.exitedCleanly && refused.stderr.contains("--advertise"),
                "stderr: \(refused.stderr)")
        let first = try ChildProcess.start(strata, ["serve", "--store", store, "--create", "--port", String(port), "--advertise", firstURL])
        _ = try await first.firstLine(startingWith: "listening ")
        let group = "/subscriptions/orders/billing"
        let created = try await HTTPTestClient.send(.PUT, firstURL + group, body: #"{"settings":{"minCheckpointCount":1,"checkpointAfterMilliseconds":0}}"#)
        #expect(created.status == 201, "\(created.text)")
        let append = try await HTTPTestClient.send(.POST, firstURL + "/streams/orders", body: #"{"events":[{"type":"a","data":{}},{"type":"b","data":{}}]}"#)
        #expect(append.status == 200, "\(append.text)")
        let second = try ChildProcess.start(strata, ["serve", "--store", store, "--port", "0"])
        let secondURL = String(try await second.firstLine(startingWith: "listening ").dropFirst("listening ".count))

        let redirected = try await HTTPTestClient.send(.POST, secondURL + group + "/read?consumer=w", body: "", followingRedirects: false)
        #expect(redirected.status == 307 && redirected.headers.first(name: "Location") == firstURL + group + "/read?consumer=w", "\(redirected.text)")
        let read = try await HTTPTestClient.send(.POST, secondURL + group + "/read?consumer=w", body: "")
        let id = try #require(((read.json["messages"] as? [[String: Any]])?.first?["event"] as? [String: Any])?["id"] as? String, "\(read.text)")
        #expect(try await HTTPTestClient.send(.POST, secondURL + group + "/ack", body: #"{"consumer":"w","ids":["\#(id)"]}"#).status == 204)

        first.signal(SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(60)) && first.exitedCleanly, "stderr: \(first.stderr)")
        let taken = try await HTTPTestClient.send(.POST, secondURL + group + "/read?consumer=w&count=10", body: "", followingRedirects: false)
        #expect(((taken.json["messages"] as? [[String: Any]]) ?? []).compactMap { ($0["event"] as? [String: Any])?["type"] as? String } == ["b"],
                "\(taken.text)")

        // Nothing left: this read waits, and the shutdown ends it with what it has.
        let waiting = Task {
            let answer = try await HTTPTestClient.send(.POST, secondURL + group + "/read?consumer=late&wait=60000", body: "", timeout: .seconds(90))
            return (answer.status, answer.text)
        }
        try await Wait.until("the read to wait", timeout: .seconds(20), interval: .milliseconds(20)) {
            let info = try await HTTPTestClient.send(.GET, secondURL + group + "/info")
            return (info.json["connections"] as? [[String: Any]])?.contains { $0["consumer"] as? String == "late" } == true
        }
        second.signal(SIGTERM)
        let (status, text) = try await Wait.within(.seconds(30), "the waiting read to end") { try await waiting.value }
        #expect(status == 200 && text == #"{"messages":[]}"#, "\(text)")
        #expect(try await second.waitForExit(timeout: .seconds(60)) && second.exitedCleanly, "stderr: \(second.stderr)")
    }
}

extension EventSequence {
    func collect() async throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        for try await e in self { out.append(e) }
        return out
    }
}
