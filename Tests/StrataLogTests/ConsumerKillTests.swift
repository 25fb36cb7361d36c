import Foundation
import Strata
import StrataConsumers
import StrataLog
import StrataTestSupport
import Testing

/// Issue 3, "Done when": a consumer killed mid-stream resumes with nothing lost and nothing
/// handled twice past its checkpoint (the state-file consumer, whose state and position are saved
/// together), or with at most its last batch handled again (the at-least-once variant over a
/// file checkpoint store).
@Suite("consumers killed mid-stream", .serialized)
struct ConsumerKillTests {
    static let events = 3_000
    static let batch = 25

    /// A store of `events` events over 16 streams.
    func prepare() async throws -> String {
        let dir = TemporaryDirectory.freshPath("consumer-kill")
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none))
        for start in stride(from: 0, to: Self.events, by: 100) {
            let requests = (0 ..< 100).map { i in
                AppendRequest(stream: "s-\((start + i) % 16)", events: [EventData(type: "tick", json: #"{"n":\#(start + i)}"#)])
            }
            // One event per stream per request: group the 100 into per-stream appends.
            var byStream: [String: [EventData]] = [:]
            for r in requests { byStream[r.stream, default: []] += r.events }
            _ = try await store.append(byStream.keys.sorted().map { AppendRequest(stream: $0, events: byStream[$0]!) }, condition: nil)
        }
        #expect(try await store.headPosition() == UInt64(Self.events))
        try await store.close()
        return dir
    }

    func handled(_ lines: [String]) -> [UInt64] {
        lines.compactMap { $0.hasPrefix("handled ") ? UInt64($0.dropFirst(8)) : nil }
    }

    @Test("state-file consumer: killed and restarted, it applies every event exactly once")
    func stateFileConsumer() async throws {
        let rounds = Int(TestEnvironment.integer("STRATA_CONSUMER_KILLS", 3))
        let dir = try await prepare()
        defer { TemporaryDirectory.remove(dir) }
        let snapshot = dir + "/tally.json"
        var kills = 0
        for round in 0 ... rounds {
            // Killed rounds block in the handler after a target position: the kill lands mid-stream.
            let target = (round + 1) * Self.events / (rounds + 2)
            let child = try TestChild.start(store: "file:\(dir)", "consume", ["--variant", "state", "--path", snapshot,
                                                                                "--batch", String(Self.batch), "--until", String(Self.events)]
                                                + (round < rounds ? ["--block-after", String(target)] : []))
            if round < rounds {
                try await child.waitForLines("blocked at \(target)") { lines in lines.contains("blocked \(target)") }
                if child.status == nil { kills += 1 }
                try await child.kill()
            } else {
                #expect(try await child.waitForExit(), "the last run did not finish: \(child.stderr)")
                #expect(child.exitedCleanly, "status \(child.status.map(String.init) ?? "?"): \(child.stderr)")
                #expect(child.lines.last == "done \(Self.events) \(Self.events)")
            }
            #expect(!child.lines.contains { $0.hasPrefix("out-of-order") }, "round \(round): \(child.lines.filter { $0.hasPrefix("out-of-order") })")
        }
        #expect(kills > 0, "no run was killed mid-stream")
    }

    @Test("checkpointed consumer over a file store: killed and restarted, nothing is lost and at most the last batch is handled again")
    func atLeastOnceConsumer() async throws {
        let rounds = Int(TestEnvironment.integer("STRATA_CONSUMER_KILLS", 3))
        let dir = try await prepare()
        defer { TemporaryDirectory.remove(dir) }
        let checkpoints = dir + "/checkpoints"
        var seen: [UInt64: Int] = [:]
        for round in 0 ... rounds {
            let before = try FileCheckpointStore(directory: checkpoints).loadCheckpoint("killed") ?? 0
            let target = (round + 1) * Self.events / (rounds + 2)
            let child = try TestChild.start(store: "file:\(dir)", "consume", ["--variant", "checkpoint", "--path", checkpoints,
                                                                                "--batch", String(Self.batch), "--until", String(Self.events)]
                                                + (round < rounds ? ["--block-after", String(target)] : []))
            if round < rounds {
                try await child.waitForLines("blocked at \(target)") { lines in lines.contains("blocked \(target)") }
                try await child.kill()
            } else {
                #expect(try await child.waitForExit(), "the last run did not finish: \(child.stderr)")
                #expect(child.lines.last == "done \(Self.events)")
            }
            let positions = handled(child.lines)
            // A run starts right after the checkpoint it found: nothing before it is handled again.
            #expect(positions.first.map { $0 == before + 1 } ?? true, "round \(round) started at \(positions.first ?? 0), checkpoint \(before)")
            for p in positions { seen[p, default: 0] += 1 }
            let after = try FileCheckpointStore(directory: checkpoints).loadCheckpoint("killed") ?? 0
            // What this run handled past its last saved checkpoint is at most one batch.
            #expect(positions.filter { $0 > after }.count <= Self.batch, "round \(round)")
        }
        #expect(seen.count == Self.events, "lost events: \(Self.events - seen.count)")
        #expect(Set(seen.keys) == Set(1 ... UInt64(Self.events)))
        let twice = seen.filter { $0.value > 1 }.count
        #expect(twice <= rounds * Self.batch)
    }
}
