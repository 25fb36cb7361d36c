import Foundation
import Strata
import StrataServer
import StrataTestSupport
import Testing

/// Live `$all` subscribers share the server's live tail; these check that what they receive is
/// what a subscription of their own would deliver: every event once, in order, filters and
/// checkpoints applied, also for a subscriber that falls behind the tail's window.
@Suite("SSE live tail")
struct LiveTailTests {
    /// Reads until `count` messages of kind `message` arrived after the caught-up marker, which
    /// triggers `afterCaughtUp` once.
    static func readLive(_ url: String, events count: Int, untilID lastID: String? = nil,
                         afterCaughtUp: @escaping @Sendable () -> Void) async throws -> [SSEMessage] {
        let fired = Flag()
        return try await SSETestReader.read(url, timeout: .seconds(60)) { messages in
            guard let marker = messages.firstIndex(where: { $0.event == "caught-up" }) else { return false }
            if fired.set() { afterCaughtUp() }
            let live = messages[(marker + 1)...]
            return live.filter { $0.event == "message" }.count >= count && (lastID == nil || live.last?.id == lastID)
        }
    }

    @Test("live $all subscribers, filtered and not, get every new event once and in order")
    func liveFanOut() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        let store = server.store
        try await store.append(to: "x-0", event: EventData(type: "keep", json: "{}"))
        let ready = Counter()
        let appendAll: @Sendable () -> Void = {
            // Both subscribers caught up: append 30 live events in several requests.
            guard ready.increment() == 2 else { return }
            Task {
                for i in 1...10 {
                    try await store.append([
                        AppendRequest(stream: "x-\(i)", expectedRevision: .any, events: [EventData(type: "keep", json: #"{"i":\#(i)}"#)]),
                        AppendRequest(stream: "y-\(i)", expectedRevision: .any, events: [EventData(type: "keep", json: "{}")]),
                    ])
                    try await store.append(to: "x-\(i)", event: EventData(type: "drop", json: "{}"))
                }
            }
        }
        async let all = LiveTailTests.readLive(server.baseURL + "/subscribe/$all?from=end", events: 30, afterCaughtUp: appendAll)
        async let filtered = LiveTailTests.readLive(server.baseURL + "/subscribe/$all?prefix=x-&type=keep", events: 10, untilID: "31", afterCaughtUp: appendAll)
        let (everything, xs) = try await (all, filtered)

        let liveIDs: [String] = everything.drop { $0.event != "caught-up" }.filter { $0.event == "message" }.compactMap(\.id)
        let expectedLive: [String] = (2...31).map { String($0) }
        #expect(liveIDs == expectedLive)
        let filteredEvents = xs.filter { $0.event == "message" }
        // The old event (position 1) in catch-up, then positions 2, 5, 8, … live.
        let expectedIDs: [String?] = ["1"] + (0..<10).map { (k: Int) -> String? in String(2 + 3 * k) }
        #expect(filteredEvents.map(\.id) == expectedIDs)
        let payloads = try filteredEvents.dropFirst().map { try JSONSerialization.jsonObject(with: Data($0.data.utf8)) as! [String: Any] }
        #expect(payloads.map { ($0["data"] as? [String: Any])?["i"] as? Int } == Array(1...10))
        // Checkpoints never run backwards and never precede an event already sent.
        var highest = 0
        for message in xs where message.event != "caught-up" {
            let id = Int(message.id ?? "") ?? 0
            #expect(id > highest, "ids ascend: \(message)")
            highest = id
        }
        // The last append (a "drop" at 31) matches nothing: a checkpoint reports it.
        #expect(xs.last?.event == "checkpoint" && xs.last?.id == "31")
    }

    @Test("a subscriber behind the tail's window reads the store and misses nothing")
    func behindTheWindow() async throws {
        var configuration = ServerConfiguration(port: 0)
        configuration.liveWindowEvents = 4
        let server = try await TestServer(configuration: configuration)
        defer { Task { await server.stop() } }
        let store = server.store
        try await store.append(to: "a", event: EventData(type: "t", json: "{}"))
        // One append of 50 events: the tail keeps the last 4, so the subscriber, at position 2,
        // is behind the window and must read positions 2…47 from the store.
        let messages = try await LiveTailTests.readLive(server.baseURL + "/subscribe/$all", events: 50) {
            Task {
                try await store.append(to: "b", events: (1...50).map { EventData(type: "t", json: #"{"n":\#($0)}"#) })
            }
        }
        let ids: [String] = messages.filter { $0.event == "message" }.compactMap(\.id)
        let expected: [String] = (1...51).map { String($0) }
        #expect(ids == expected)
    }
}

/// Set once.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag; true only for the first caller.
    func set() -> Bool { lock.withLock { defer { value = true }; return !value } }
}

/// A shared count.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
