import Foundation
import Strata
import StrataDocuments
import StrataJetStream
import StrataNATS
import Synchronization
import StrataTestSupport
import Testing

func openStore(_ urls: [String], store: String, replicas: Int = 1) async throws -> JetStreamEventStore {
    var config = try JetStreamStoreConfiguration(urls: urls, store: store)
    config.replicas = replicas
    config.nats.reconnectWait = .milliseconds(20)
    config.nats.maxReconnectWait = .milliseconds(250)
    config.nats.requestTimeout = .seconds(2)
    return try await JetStreamEventStore.open(config)
}

/// What the node-kill test's writers share.
final class KillProgress: Sendable {
    struct Acked: Sendable { var id: UUID; var stream: String; var position: UInt64 }
    let acked = Mutex<[Acked]>([])
    let killed = Mutex(false)
}

@Suite("JetStream cluster", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamClusterTests {
    static var killEvents: Int { ProcessInfo.processInfo.environment["STRATA_NATS_KILL_EVENTS"].flatMap(Int.init) ?? 300 }

    @Test("SIGKILL of a node mid-load: every acknowledged event is present exactly once, in order, through every node")
    func nodeKill() async throws {
        let total = Self.killEvents
        try await NATSTestCluster.run(nodes: 3) { cluster in
            let store = try await openStore(cluster.urls, store: "kill", replicas: 3)
            let progress = KillProgress()
            let writers = 4
            let victim = cluster.nodes[0]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0 ..< writers {
                    group.addTask {
                        let stream = "writer-\(w)"
                        for i in 0 ..< total / writers {
                            let event = EventData(type: "tick", json: #"{"w":\#(w),"i":\#(i)}"#)
                            let deadline = ContinuousClock.now + .seconds(60)
                            while true {
                                do {
                                    // A retry after an unknown outcome is recognised by the event id.
                                    let r = try await store.append(to: stream, event: event)
                                    progress.acked.withLock { $0.append(KillProgress.Acked(id: event.id, stream: stream, position: r.firstPosition)) }
                                    break
                                } catch {
                                    if ContinuousClock.now > deadline { throw error }
                                    try await Task.sleep(for: .milliseconds(50))
                                }
                            }
                        }
                    }
                }
                group.addTask {
                    try await Wait.until("a third of the appends acknowledged", timeout: .seconds(120)) { progress.acked.withLock { $0.count } >= total / 3 }
                    await victim.kill()
                    progress.killed.withLock { $0 = true }
                }
                try await group.waitForAll()
            }
            #expect(progress.killed.withLock { $0 })
            // The store was on the killed node (the first URL) and moved to another one.
            let details = try await store.stats().details
            #expect(details["reconnects"] != "0", "\(details)")
            try cluster.nodes[0].launch()
            try await cluster.nodes[0].waitReady()
            let expected = progress.acked.withLock { $0 }
            #expect(expected.count == (total / writers) * writers)
            try await store.close()

            for node in cluster.nodes {
                let reader = try await openStore([node.url], store: "kill", replicas: 3)
                var all: [RecordedEvent] = []
                for try await e in reader.readAll() { all.append(e) }
                #expect(all.map(\.position) == Array(1 ... UInt64(all.count)), "positions contiguous through \(node.name)")
                #expect(all.count == expected.count, "exactly the acknowledged events through \(node.name)")
                var seen: [UUID: RecordedEvent] = [:]
                for e in all { #expect(seen.updateValue(e, forKey: e.id) == nil, "event \(e.id) once") }
                for a in expected {
                    let e = try #require(seen[a.id], "acknowledged event \(a.id) present through \(node.name)")
                    #expect(e.stream == a.stream && e.position == a.position)
                }
                for w in 0 ..< writers {
                    let revisions = all.filter { $0.stream == "writer-\(w)" }.map(\.revision)
                    #expect(revisions == Array(1 ... UInt64(total / writers)))
                }
                try await reader.close()
            }
        }
    }

    @Test("two document stores on two connections stay in sync, with read-your-writes")
    func documents() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let first = try await openStore(cluster.urls, store: "docs")
            let second = try await openStore(cluster.urls, store: "docs")
            let a = try await DocumentStore.open(store: first, collection: "users")
            let b = try await DocumentStore.open(store: second, collection: "users")

            let written = try await a.put("ada", ["name": "Ada", "age": 36])
            #expect(try a.get("ada") == written)
            try await b.sync()
            #expect(try b.get("ada") == written)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0 ..< 10 {
                    group.addTask { _ = try await a.put("a-\(i)", ["n": .int(Int64(i))]) }
                    group.addTask { _ = try await b.put("b-\(i)", ["n": .int(Int64(i))]) }
                }
                try await group.waitForAll()
            }
            _ = try await b.patch("ada", ["age": 37])
            try await a.sync()
            try await b.sync()
            #expect(try a.count() == 21 && b.count() == 21)
            #expect(try a.get("ada") == b.get("ada"))
            #expect(try a.get("ada")?.meta.changes == 2)
            for key in ["a-3", "b-7"] { #expect(try a.get(key) == b.get(key)) }
            try await a.close()
            try await b.close()
            try await first.close()
            try await second.close()
        }
    }
}

@Suite("JetStream store instances", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamInstanceTests {
    @Test("two instances writing at once: one gap-free $all, and an expected revision wins exactly once")
    func twoWriters() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let a = try await openStore(cluster.urls, store: "race")
            let b = try await openStore(cluster.urls, store: "race")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0 ..< 40 {
                    group.addTask { try await a.append(to: "shared", event: EventData(type: "a", json: "\(i)")) }
                    group.addTask { try await b.append([AppendRequest(stream: "shared", events: [EventData(type: "b", json: "\(i)")]),
                                                        AppendRequest(stream: "b-\(i % 3)", events: [EventData(type: "b", json: "\(i)")])]) }
                }
                try await group.waitForAll()
            }
            var fromA: [RecordedEvent] = []
            for try await e in a.readAll() { fromA.append(e) }
            var fromB: [RecordedEvent] = []
            for try await e in b.readAll() { fromB.append(e) }
            #expect(fromA.count == 120 && fromA == fromB)
            #expect(fromA.map(\.position) == Array(1 ... 120))
            #expect(try await a.streamInfo("shared").lastRevision == 80)

            // Both decide on revision 80; the server lets exactly one of them write.
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for store in [a, b] {
                    group.addTask {
                        do {
                            try await store.append(to: "shared", expectedRevision: .exact(80), event: EventData(type: "decided", json: "{}"))
                            return true
                        } catch StrataError.wrongExpectedRevision(_, _, let actual) {
                            #expect(actual == 81)
                            return false
                        }
                    }
                }
                var wins = 0
                for try await won in group where won { wins += 1 }
                return wins
            }
            #expect(outcomes == 1)
            #expect(try await b.streamInfo("shared").lastRevision == 81)
            try await a.close()
            try await b.close()
        }
    }
}
