import Foundation
import Strata
import StrataStorage
import StrataSQLite
import StrataTestSupport
import Synchronization
import Testing

/// Several processes on one database file: appends from each are safe, and subscribers in every
/// process see every event once, in position order.
@Suite("SQLite: several processes on one file", .serialized)
struct SQLiteMultiProcessTests {
    @Test("two child processes append while this one appends too; every subscriber in all three processes sees every event once, in position order")
    func twoProcessesAppendAndFollow() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-multi")
        defer { TemporaryDirectory.remove(dir) }
        let path = dir + "/events.db"
        let perChild = Int(ProcessInfo.processInfo.environment["STRATA_SQLITE_MULTI_EVENTS"] ?? "") ?? 400
        let mine = 100
        let total = 2 * perChild + mine
        let store = try SQLiteEventStore(path: path)

        let received = Mutex<[EventLine]>([])
        let follower = Task {
            for try await event in store.subscribeToAll(from: .start).events {
                let count = received.withLock { seen in
                    seen.append(EventLine(event))
                    return seen.count
                }
                if count == total { return }
            }
        }
        defer { follower.cancel() }

        var children: [ChildProcess] = []
        for (prefix, seed) in [("alpha", 1), ("beta", 2)] {
            children.append(try TestChild.start(store: "sqlite:" + path, "append", [
                "--prefix", prefix, "--streams", "4", "--events", String(perChild), "--max-batch", "6", "--seed", String(seed),
                "--follow", String(total),
            ]))
        }
        var appended = 0
        var rng = SplitMix64(seed: 3)
        while appended < mine {
            let size = min(mine - appended, Int.random(in: 1...4, using: &rng))
            try await store.append(to: "local-\(appended % 3)", events: (0..<size).map { _ in EventData(type: "local", json: "{}") })
            appended += size
        }
        let deadline = ContinuousClock.now + .seconds(60)
        for child in children {
            let exited = try await child.waitForExit(timeout: max(.zero, deadline - ContinuousClock.now))
            #expect(exited && child.exitedCleanly, "\(child) exited with \(child.status.map(String.init) ?? "?"): \(child.stderr)")
        }
        try await Wait.within(.seconds(30), "this process's subscription to see all \(total) events") { try await follower.value }

        let stored = try await store.readAll().collect().map(EventLine.init)
        try await store.close()
        #expect(stored.map(\.position) == (1...UInt64(total)).map { $0 }, "positions are 1...\(total) without gaps")
        var lastRevision: [String: UInt64] = [:]
        for event in stored {
            #expect(event.revision == (lastRevision[event.stream] ?? 0) + 1, "\(event) follows revision \(lastRevision[event.stream] ?? 0)")
            lastRevision[event.stream] = event.revision
        }
        #expect(received.withLock { $0 } == stored, "this process's subscription")
        for child in children {
            let lines = child.lines
            #expect(EventLine.parse(lines) == stored, "the subscription of \(child)")
            // Each acknowledged append is where the child was told it is.
            let acks = AckLine.parse(lines)
            #expect(acks.reduce(0) { $0 + $1.count } == perChild)
            for ack in acks {
                let last = stored[Int(ack.lastPosition) - 1]
                #expect(last.stream == ack.stream && last.revision == ack.lastRevision && last.id == ack.lastID, "\(ack) vs \(last)")
            }
        }
        let writers = stored.map { $0.stream.split(separator: "-")[0] }
        #expect(Set(writers) == ["alpha", "beta", "local"])
        // How often the write lock changed hands (informative: the processes need not overlap).
        let turns = zip(writers, writers.dropFirst()).filter { $0 != $1 }.count
        print("two processes and this one: \(total) events, the writer changed \(turns) times")
    }

    @Test("two stores on one file in this process: each sees the other's appends, and positions stay contiguous")
    func twoConnectionsInOneProcess() async throws {
        let dir = TemporaryDirectory.freshPath("sqlite-two-stores")
        defer { TemporaryDirectory.remove(dir) }
        let a = try SQLiteEventStore(path: dir + "/events.db")
        let b = try SQLiteEventStore(path: dir + "/events.db")
        let received = Mutex<[UInt64]>([])
        let follower = Task {
            for try await event in a.subscribeToAll(from: .start).events {
                let count = received.withLock { $0.append(event.position); return $0.count }
                if count == 200 { return }
            }
        }
        defer { follower.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, store) in [("a", a), ("b", b)] {
                group.addTask {
                    for i in 0..<100 { try await store.append(to: "\(name)-\(i % 5)", event: EventData(type: "e", json: "{}")) }
                }
            }
            try await group.waitForAll()
        }
        try await Wait.within(.seconds(20), "store a's subscription to see b's appends") { try await follower.value }
        #expect(received.withLock { $0 } == (1...200).map { UInt64($0) })
        #expect(try await b.headPosition() == 200)
        let info = try await a.streamInfo("b-3")
        #expect(info.lastRevision == 20)
        // A stale expectation from one store fails against the other's write.
        try await b.append(to: "shared", expectedRevision: .noStream, event: EventData(type: "e", json: "{}"))
        await #expect(throws: StrataError.wrongExpectedRevision(stream: "shared", expected: .noStream, actual: 1)) {
            try await a.append(to: "shared", expectedRevision: .noStream, event: EventData(type: "e", json: "{}"))
        }
        try await a.close()
        try await b.close()
    }
}
