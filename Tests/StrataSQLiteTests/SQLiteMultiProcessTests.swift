import Foundation
import Strata
import StrataSQLite
import Synchronization
import Testing

/// Several processes on one database file: appends from each are safe, and subscribers in every
/// process see every event once, in position order.
@Suite("SQLite: several processes on one file", .serialized)
struct SQLiteMultiProcessTests {
    /// One event as a subscriber reports it.
    struct Seen: Hashable, CustomStringConvertible {
        let position: UInt64
        let stream: String
        let revision: UInt64
        let id: String
        var description: String { "\(position) \(stream)@\(revision)" }
    }

    static func parseEvents(_ lines: [String]) -> [Seen] {
        lines.compactMap { line in
            let p = line.split(separator: " ")
            guard p.count == 5, p[0] == "event", let position = UInt64(p[1]), let revision = UInt64(p[3]) else { return nil }
            return Seen(position: position, stream: String(p[2]), revision: revision, id: String(p[4]))
        }
    }

    @Test("two child processes append while this one appends too; every subscriber in all three processes sees every event once, in position order")
    func twoProcessesAppendAndFollow() async throws {
        let dir = TestFiles.directory("multi")
        defer { TestFiles.remove(dir) }
        let path = dir + "/events.db"
        let perChild = Int(ProcessInfo.processInfo.environment["STRATA_SQLITE_MULTI_EVENTS"] ?? "") ?? 400
        let mine = 100
        let total = 2 * perChild + mine
        let store = try SQLiteEventStore(path: path)

        let received = Mutex<[Seen]>([])
        let follower = Task {
            for try await event in store.subscribeToAll(from: .start).events {
                let count = received.withLock { seen in
                    seen.append(Seen(position: event.position, stream: event.stream, revision: event.revision, id: event.id.uuidString))
                    return seen.count
                }
                if count == total { return }
            }
        }
        defer { follower.cancel() }

        var children: [ChildWriter] = []
        for (prefix, seed) in [("alpha", 1), ("beta", 2)] {
            children.append(try ChildWriter.start([
                "append-follow", "--db", path, "--prefix", prefix, "--events", String(perChild), "--total", String(total),
                "--batch", "6", "--seed", String(seed),
            ], output: dir + "/\(prefix).txt"))
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
            let status = await child.waitForExit(limit: max(.zero, deadline - ContinuousClock.now))
            #expect(status == 0, "child \(child.output) exited with \(status): \(child.stderr)")
        }
        try await TestFiles.within(.seconds(30), "this process's subscription to see all \(total) events") { try await follower.value }

        let stored = try await store.readAll().collect().map {
            Seen(position: $0.position, stream: $0.stream, revision: $0.revision, id: $0.id.uuidString)
        }
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
            #expect(Self.parseEvents(lines) == stored, "the subscription of \(child.output)")
            // Each acknowledged append is where the child was told it is.
            let acks = lines.filter { $0.hasPrefix("ack ") }.map { $0.split(separator: " ") }
            #expect(acks.reduce(0) { $0 + Int(UInt64($1[2])! - UInt64($1[1])! + 1) } == perChild)
            for ack in acks {
                let last = stored[Int(UInt64(ack[2])!) - 1]
                #expect(last.stream == String(ack[3]) && last.revision == UInt64(ack[4])!, "ack \(ack.joined(separator: " ")) vs \(last)")
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
        let dir = TestFiles.directory("two-stores")
        defer { TestFiles.remove(dir) }
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
        try await TestFiles.within(.seconds(20), "store a's subscription to see b's appends") { try await follower.value }
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
