import Foundation
import Strata
import StrataServer
import Synchronization
import StrataTestSupport
import Testing

/// A store over memory that can be made to fail: every call (`.stopped`, as a log store after an
/// I/O failure: `storeClosed`), or only reads of `$all` (`.readsFail`, an I/O error).
final class FailingStore: EventStore {
    enum Mode: Sendable { case working, stopped, readsFail }

    let base = InMemoryEventStore()
    let mode = Mutex(Mode.working)

    func set(_ mode: Mode) { self.mode.withLock { $0 = mode } }

    private func check(read: Bool = false) throws {
        switch mode.withLock({ $0 }) {
        case .working: return
        case .stopped: throw StrataError.storeClosed(reason: "stopped after an I/O failure: injected by the test")
        case .readsFail: if read { throw StrataError.io(path: "test", operation: "read", reason: "injected by the test") }
        }
    }

    func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try check()
        return try await base.append(requests, condition: condition)
    }
    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try check()
        return try await base.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }
    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try check(read: true)
        return try await base.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }
    func streamInfo(_ stream: String) async throws -> StreamInfo {
        try check()
        return try await base.streamInfo(stream)
    }
    func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try check()
        return try await base.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
    }
    func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try check()
        try await base.deleteStream(stream, expectedRevision: expectedRevision, mode: mode)
    }
    func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try check()
        try await base.setStreamMetadata(stream, metadata)
    }
    func headPosition() async throws -> UInt64 {
        try check()
        return try await base.headPosition()
    }
    func stats() async throws -> StoreStats {
        try check()
        return try await base.stats()
    }
    func identity() async throws -> StoreIdentity { try await base.identity() }
    func waitForAppends(after position: UInt64) async throws {
        try check()
        try await base.waitForAppends(after: position)
    }
    func close() async throws { try await base.close() }
}

@Suite("Readiness")
struct ReadinessTests {
    /// The value of `strata_background_stops_total{component="…"}` in `/metrics`.
    static func stops(_ server: TestServer, _ component: String) async throws -> Int? {
        let text = try await HTTPTestClient.send(.GET, server.baseURL + "/metrics").text
        let prefix = #"strata_background_stops_total{component="\#(component)"} "#
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    static func reasons(_ answer: HTTPTestClient.Answer) -> [String] {
        ((answer.json["error"] as? [String: Any])?["details"] as? [String: Any])?["reasons"] as? [String] ?? []
    }

    /// Asks `/health/ready` until `condition` holds for the answer, at most `timeout`.
    static func ready(_ server: TestServer, timeout: Duration = .seconds(20),
                      until condition: (HTTPTestClient.Answer) -> Bool) async throws -> HTTPTestClient.Answer {
        var answer = try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready")
        // Past the timeout the last answer is returned: the caller's expectations on it fail.
        do {
            try await Wait.until("/health/ready to answer as expected", timeout: timeout, interval: .milliseconds(20)) {
                if condition(answer) { return true }
                answer = try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready")
                return condition(answer)
            }
        } catch is TimedOut {}
        return answer
    }

    @Test("a store that stopped after an I/O failure makes /health/ready 503 (live stays 200), logged and counted once")
    func storeStopped() async throws {
        let store = FailingStore()
        let server = try await TestServer(store: store)
        defer { Task { await server.stop() } }
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready").status == 200)
        #expect(try await Self.stops(server, "store") == 0)

        store.set(.stopped)
        let append = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/s", body: #"{"events":[{"type":"t","data":{}}]}"#)
        #expect(append.status == 503 && append.errorCode == "store-closed")
        let notReady = try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready")
        #expect(notReady.status == 503)
        #expect(notReady.errorCode == "not-ready")
        #expect(Self.reasons(notReady).count == 1)
        #expect(Self.reasons(notReady).first?.hasPrefix("store: the store is closed: stopped after an I/O failure") == true)
        let live = try await HTTPTestClient.send(.GET, server.baseURL + "/health/live")
        #expect(live.status == 200)
        _ = try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready")
        #expect(try await Self.stops(server, "store") == 1, "one stop, however often it is seen")

        store.set(.working)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/health/ready").status == 200)
    }

    @Test("a document view whose consumer stops with an error flips readiness and bumps the counter")
    func documentViewStopped() async throws {
        let store = FailingStore()
        let server = try await TestServer(store: store)
        defer { Task { await server.stop() } }
        let put = try await HTTPTestClient.send(.PUT, server.baseURL + "/documents/users/ada", body: #"{"name":"Ada"}"#)
        #expect(put.status == 200)
        #expect(try await Self.stops(server, "documents") == 0)

        // Reads of $all fail: the view's consumer stops at the next append (the store still answers).
        store.set(.readsFail)
        try await store.base.append(to: "users-bob", events: [EventData(type: "document.put", json: #"{"v":1,"key":"bob","data":{}}"#)])
        let notReady = try await Self.ready(server) { $0.status == 503 }
        #expect(notReady.status == 503 && notReady.errorCode == "not-ready")
        let reasons = Self.reasons(notReady)
        #expect(reasons.count == 1 && reasons.first?.hasPrefix("documents/users: ") == true, "\(reasons)")
        #expect(try await Self.stops(server, "documents") == 1)
        #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/health/live").status == 200)
    }

    @Test("a document view snapshot of another store: the open fails with checkpoint-of-another-store and readiness says so")
    func documentViewAheadOfStore() async throws {
        let directory = TemporaryDirectory.freshPath("ready")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ServerConfiguration(port: 0)
        configuration.documentsDirectory = directory
        let first = try await TestServer(configuration: configuration)
        for key in ["a", "b", "c"] {
            #expect(try await HTTPTestClient.send(.PUT, first.baseURL + "/documents/users/\(key)", body: "{}").status == 200)
        }
        await first.stop()

        // The same documents folder over another (empty) store.
        let second = try await TestServer(configuration: configuration)
        defer { Task { await second.stop() } }
        // A write opens the collection (a read of a collection without documents answers 404 unopened).
        let get = try await HTTPTestClient.send(.PUT, second.baseURL + "/documents/users/a", body: "{}")
        #expect(get.status == 500 && get.errorCode == "checkpoint-of-another-store")
        let details = (get.json["error"] as? [String: Any])?["details"] as? [String: Any]
        let actual = try await second.store.identity().value
        #expect(details?["consumer"] as? String == "documents-users" && details?["actual"] as? String == actual
                && (details?["recorded"] as? String).map { $0 != actual && !$0.isEmpty } == true)
        let notReady = try await HTTPTestClient.send(.GET, second.baseURL + "/health/ready")
        #expect(notReady.status == 503 && Self.reasons(notReady).first?.hasPrefix("documents/users: the checkpoint of \"documents-users\" was recorded for store") == true)
        #expect(try await Self.stops(second, "documents") == 1)
    }
}
