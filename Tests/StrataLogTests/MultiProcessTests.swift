import Foundation
import Strata
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataLog

/// Several processes on one data directory (issue 2, "Several processes"): writers take turns
/// under the lock without losing or reordering anything, and other processes follow live.
@Suite("several processes on one directory", .serialized)
struct MultiProcessTests {
    static let segmentSize = 64 * 1024

    @Test("two child processes append concurrently; the store holds exactly the union of their acknowledged appends")
    func twoWriters() async throws {
        let dir = TemporaryDirectory.freshPath("multi-writers")
        defer { TemporaryDirectory.remove(dir) }
        let count = Int(TestEnvironment.integer("STRATA_MULTI_COUNT", 300))
        var children: [ChildProcess] = []
        for (prefix, seed) in [("alpha", "1"), ("beta", "2")] {
            children.append(try TestChild.start(store: "file:\(dir)?durability=none&segmentSize=\(Self.segmentSize)", "append",
                                                ["--prefix", prefix, "--max-batch", "6", "--appends", String(count), "--seed", seed]))
        }
        for child in children {
            let exited = try await child.waitForExit(timeout: .seconds(60))
            #expect(exited && child.exitedCleanly, "status \(child.status.map(String.init) ?? "?"), stderr: \(child.stderr)")
        }
        let acks = children.flatMap { AckLine.parse($0.lines) }
        #expect(acks.count == 2 * count)

        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(segmentSize: Self.segmentSize))
        let events = try await FaultTest.readAll(store)
        FaultTest.expectContiguous(events)
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
        for ack in acks { ack.expectPresent(in: byPosition) }
        // Exactly the union: the acknowledged ranges cover every position once.
        let covered = acks.reduce(0) { $0 + Int($1.lastPosition - $1.firstPosition + 1) }
        #expect(covered == events.count)
        #expect(Set(acks.flatMap { Array($0.firstPosition...$0.lastPosition) }).count == covered, "two appends were acknowledged with the same position")
        // How often the writer changed hands (informative: two processes need not overlap).
        let turns = zip(events, events.dropFirst()).filter { $0.stream.prefix(4) != $1.stream.prefix(4) }.count
        print("two writers: \(events.count) events, the writer changed \(turns) times, \(FaultTest.plainSegmentPaths(dir).count) segments")
        try await store.close()
        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")
        #expect(report.events == UInt64(events.count))
    }

    @Test("a follow child started before the appends sees every event of the test process once, in position order")
    func childFollowsAppends() async throws {
        let dir = TemporaryDirectory.freshPath("multi-follow")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: Self.segmentSize))
        let total = 1_500
        let follower = try TestChild.start(store: "file:\(dir)", "follow", ["--count", String(total)])
        var appended: [AppendResult] = []
        do {
            try await follower.waitForLines("caughtUp") { $0.contains("caughtUp 0") }
            var n = 0
            while n < total {
                let size = min(1 + n % 17, total - n)
                appended.append(try await store.append(to: "f-\(n % 4)", events: FaultTest.events(size, from: n)))
                n += size
            }
        } catch {
            try await follower.kill()
            try await store.close()
            throw error
        }
        let exited = try await follower.waitForExit(timeout: .seconds(30))
        #expect(exited && follower.exitedCleanly, "the follower did not finish: \(follower.lines.count) lines, stderr: \(follower.stderr)")
        let seen = EventLine.parse(follower.lines)
        let written = try await FaultTest.readAll(store)
        try await store.close()
        #expect(written.count == total)
        #expect(seen == written.map(EventLine.init))
        #expect(appended.last?.lastPosition == UInt64(total))
    }

    @Test("a subscription in the test process receives a child's appends within a bounded time")
    func subscriptionSeesChildAppends() async throws {
        let dir = TemporaryDirectory.freshPath("multi-sub")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: Self.segmentSize))
        try await store.append(to: "local", events: FaultTest.events(2))
        let received = Mutex<[RecordedEvent]>([])
        let consumer = Task {
            for try await event in store.subscribeToAll(from: .start).events {
                received.withLock { $0.append(event) }
            }
        }
        defer { consumer.cancel() }
        try await Wait.until("the local events") { received.withLock { $0.count } == 2 }

        let child = try TestChild.start(store: "file:\(dir)?durability=none&segmentSize=\(Self.segmentSize)", "append",
                                        ["--prefix", "remote", "--max-batch", "4", "--appends", "60"])
        let exited = try await child.waitForExit(timeout: .seconds(30))
        #expect(exited && child.exitedCleanly, "stderr: \(child.stderr)")
        let acks = AckLine.parse(child.lines)
        #expect(acks.count == 60)
        let expected = 2 + acks.reduce(0) { $0 + Int($1.lastPosition - $1.firstPosition + 1) }
        try await Wait.until("the child's events in the subscription", timeout: .seconds(60)) {
            received.withLock { $0.count } >= expected
        }
        // And appends of the test process itself still go after the child's.
        let mine = try await store.append(to: "local", events: FaultTest.events(1, from: 2))
        #expect(mine.firstPosition == UInt64(expected + 1))
        try await Wait.until("the test's own append after the child's") { received.withLock { $0.count } == expected + 1 }
        consumer.cancel()
        _ = await consumer.result
        let events = received.withLock { $0 }
        FaultTest.expectContiguous(events)
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
        for ack in acks { ack.expectPresent(in: byPosition) }
        try await store.close()
    }
}

extension MultiProcessTests {
    @Test("a subscription in the test process follows a child whose sealed segments are compressed behind it")
    func followCompressingWriter() async throws {
        let dir = TemporaryDirectory.freshPath("multi-compress")
        defer { TemporaryDirectory.remove(dir) }
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none, segmentSize: Self.segmentSize))
        let received = Mutex<[RecordedEvent]>([])
        let failure = Mutex<String?>(nil)
        let consumer = Task {
            do {
                for try await event in store.subscribeToAll(from: .start).events {
                    received.withLock { $0.append(event) }
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
        }
        defer { consumer.cancel() }
        let child = try TestChild.start(store: "file:\(dir)?durability=none&segmentSize=\(Self.segmentSize)&compress=true", "append",
                                        ["--prefix", "z", "--max-batch", "20", "--appends", "1500"])
        let exited = try await child.waitForExit(timeout: .seconds(60))
        #expect(exited && child.exitedCleanly, "stderr: \(child.stderr)")
        let acks = AckLine.parse(child.lines)
        let total = acks.map(\.lastPosition).max() ?? 0
        try await Wait.until("the child's events in the subscription", timeout: .seconds(20)) {
            let failed = failure.withLock { $0 }
            try #require(failed == nil, "the subscription failed: \(failed ?? "")")
            return received.withLock { $0.count } >= Int(total)
        }
        consumer.cancel()
        _ = await consumer.result
        let events = received.withLock { $0 }
        FaultTest.expectContiguous(events)
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
        for ack in acks { ack.expectPresent(in: byPosition) }
        #expect(FaultTest.segmentNames(dir).contains { $0.hasSuffix(".seg.gz") })
        try await store.close()
        #expect(try LogEventStore.verify(directory: dir).isOK)
    }
}

/// Writers that die while another process keeps writing (the crash test, with company).
extension MultiProcessTests {
    @Test("a writer killed at random moments while another keeps appending: nothing acknowledged by either is lost")
    func killedWriterBesideALiveOne() async throws {
        let rounds = Int(TestEnvironment.integer("STRATA_CRASH_ROUNDS", 20))
        let seed = TestEnvironment.integer("STRATA_CRASH_SEED", UInt64.random(in: 1...UInt64(UInt32.max)))
        print("dying writer test: \(rounds) rounds, seed \(seed) (replay with STRATA_CRASH_SEED=\(seed))")
        var rng = FaultTest.Generator(seed: seed)
        let dir = TemporaryDirectory.freshPath("multi-dying")
        defer { TemporaryDirectory.remove(dir) }
        let url = "file:\(dir)?durability=fsync&segmentSize=\(Self.segmentSize)"
        let survivor = try TestChild.start(store: url, "append", ["--prefix", "live", "--max-batch", "2", "--seed", String(rng.next() >> 1)])
        var acks: [AckLine] = []
        do {
            for round in 1...rounds {
                let target = Int.random(in: 1...20, using: &rng)
                let victim = try TestChild.start(store: url, "append", ["--prefix", "dead\(round)", "--max-batch", "100",
                                                                          "--seed", String(rng.next() >> 1)])
                do {
                    try await victim.waitForLines("\(target) acks") { AckLine.parse($0).count >= target }
                } catch {
                    try await victim.kill()
                    throw error
                }
                let jitter = Int.random(in: 0...2_000, using: &rng)
                if jitter > 0 { try await Task.sleep(for: .microseconds(jitter)) }
                try await victim.kill()
                acks += AckLine.parse(victim.lines)
            }
            // The survivor must have kept going through all of it.
            let seen = AckLine.parse(survivor.lines).count
            try await survivor.waitForLines("more acks after the last kill") { AckLine.parse($0).count >= seen + 20 }
        } catch {
            try await survivor.kill()
            throw error
        }
        try await survivor.kill()
        acks += AckLine.parse(survivor.lines)

        let before = try LogEventStore.verify(directory: dir)
        #expect(before.isOK, "seed \(seed): \(before.problems)")
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(segmentSize: Self.segmentSize))
        let events = try await FaultTest.readAll(store)
        FaultTest.expectContiguous(events)
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0) })
        for ack in acks { ack.expectPresent(in: byPosition) }
        try await store.close()
        let after = try LogEventStore.verify(directory: dir)
        #expect(after.isOK, "seed \(seed): \(after.problems)")
    }

    @Test("records committed by a writer that died before publishing them are not overwritten by a live writer",
          arguments: [false, true])
    func liveWriterDoesNotOverwriteUnpublishedRecords(inNewSegment: Bool) async throws {
        let dir = TemporaryDirectory.freshPath("multi-unpublished")
        defer { TemporaryDirectory.remove(dir) }
        let configuration = LogConfiguration(durability: .fsync, segmentSize: Self.segmentSize)
        let live = try LogEventStore(directory: dir, configuration: configuration)
        try await live.append(to: "live", events: FaultTest.events(5))
        let head = try await live.headPosition()

        // What another writer process leaves when it is killed after its pwrite and before it
        // publishes the new end of the log in HEAD (it dies in fdatasync, the longest step of a
        // batch): a whole committed append of 20 events, right after the last record — or, when
        // its batch did not fit, at the start of a new segment it had just created.
        var path = try #require(FaultTest.plainSegmentPaths(dir).last)
        var end = try FaultTest.readSegment(path).recordsEnd
        // Like every writer, the dead one bumped the lock generation in HEAD (FORMAT.md, "HEAD")
        // as soon as it held the lock, before touching any segment.
        try FaultTest.bumpLockGeneration(dir)
        if inNewSegment {
            let segment = try SegmentFile.create(directory: dir + "/segments", firstPosition: head + 1,
                                                 createdAtMicros: currentMicroseconds(), preallocate: Self.segmentSize)
            path = segment.path
            segment.close()
            end = 64
        }
        var bytes: [UInt8] = []
        for k in 1...20 {
            bytes += try FaultTest.encodeRecord(position: head + UInt64(k), revision: UInt64(k), stream: "dead", commit: k == 20,
                                                data: #"{"dead":\#(k),"padding":"\#(String(repeating: "x", count: 40))"}"#)
        }
        try FaultTest.overwrite(path, at: end, with: bytes)

        // The live process appends one small event: it must land after the dead writer's
        // records (they are committed; a fresh open would read them) and must not damage them.
        let mine = try await live.append(to: "live", events: FaultTest.events(1, from: 5))
        let seen = try await FaultTest.readAll(live)
        try await live.close()
        FaultTest.expectContiguous(seen)

        let report = try LogEventStore.verify(directory: dir)
        #expect(report.isOK, "\(report.problems)")
        let reopened = try LogEventStore(directory: dir, configuration: configuration)
        let events = try await FaultTest.readAll(reopened)
        FaultTest.expectContiguous(events)
        let acknowledged = seen.first { $0.position == mine.lastPosition }
        #expect(acknowledged?.stream == "live")
        #expect(events.contains { $0.id == acknowledged?.id && $0.position == mine.lastPosition },
                "the live writer's acknowledged event is not at its position")
        try await reopened.close()
    }
}
