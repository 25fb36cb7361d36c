import Foundation
import Strata
import StrataLog
import StrataTestSupport
import Testing

/// Issue 6, "Done when": the process killed mid-shipping and restarted; the receiver then holds
/// every event, exactly once after deduplication by id.
@Suite("emitter: killed mid-shipping", .serialized)
struct KillRestartTests {
    @Test("SIGKILL mid-shipping, restart: every outbox event delivered, none lost, duplicates only by id")
    func killAndRestart() async throws {
        let kills = TestEnvironment.integer("STRATA_EMITTER_KILLS", 2)
        let count = TestEnvironment.integer("STRATA_EMITTER_KILL_EVENTS", 1500)
        let batch = 20
        // A slow receiver, so that the kills land while batches are in flight.
        let receiver = try await Receiver { _ in (200, .milliseconds(3)) }
        let dir = TemporaryDirectory.freshPath("kill")
        defer { TemporaryDirectory.remove(dir) }
        let arguments = ["--checkpoints", dir + "/checkpoints", "--endpoint", receiver.url, "--count", String(count), "--batch", String(batch)]
        var killed = 0
        for round in 0...kills {
            let child = try TestChild.start(store: "file:\(dir)?durability=none", "emit", arguments)
            if round < kills {
                let target = (round + 1) * count / (kills + 2)
                try await receiver.waitUntil("\(target) delivered events", timeout: .seconds(60)) { received in
                    Set(received.flatMap(\.ids)).count >= target
                }
                if child.isRunning { killed += 1 }
                try await child.kill()
            } else {
                try await child.waitForExit(timeout: .seconds(120))
                #expect(child.status == 0, "stderr: \(child.stderr)")
                #expect(child.lines.last?.hasPrefix("done") == true, "lines: \(child.lines.suffix(3)), stderr: \(child.stderr)")
            }
        }
        #expect(killed == kills, "a run finished before it could be killed")
        let store = try LogEventStore(directory: dir, configuration: LogConfiguration(durability: .none))
        let outbox = try await store.readStream("outbox").collect()
        try await store.close()
        #expect(outbox.count == count)
        let expected = Set(outbox.map { $0.id.uuidString.lowercased() })
        let delivered = receiver.accepted.flatMap(\.ids)
        #expect(Set(delivered) == expected, "missing \(expected.subtracting(delivered).count), unknown \(Set(delivered).subtracting(expected).count)")
        // At-least-once: a kill re-sends at most the batches not yet checkpointed.
        #expect(delivered.count - expected.count <= kills * batch * 2, "\(delivered.count - expected.count) duplicates")
        await receiver.stop()
    }
}
