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
}

extension EventSequence {
    func collect() async throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        for try await e in self { out.append(e) }
        return out
    }
}
