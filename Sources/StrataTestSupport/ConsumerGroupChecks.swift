import Foundation
import Strata
import StrataConsumers
import StrataStorage

/// A check of a lease store or a consumer group failed: what was expected.
public struct CheckFailed: Error, CustomStringConvertible {
    /// What did not hold.
    public let description: String
    /// Creates a failure.
    public init(_ description: String) { self.description = description }
}

/// The behaviour every ``LeaseStore`` shares, checked through two handles on the same leases
/// (two store values, connections or processes' views): exclusive, renewable with the same
/// token, released to the next owner with a greater token, listed while live, and (timed
/// stores) lapsing when not renewed.
public enum LeaseStoreChecks {
    /// Runs the checks; `timed` stores are also checked for lapsing.
    /// - Throws: ``CheckFailed`` naming the first property that did not hold.
    public static func run(_ first: some LeaseStore, _ second: some LeaseStore, timed: Bool) async throws {
        func check(_ condition: Bool, _ what: String) throws { if !condition { throw CheckFailed(what) } }
        let prefix = "check-\(UUID().uuidString.prefix(8))/"
        let name = prefix + "a"
        let taken = try await first.acquire(name, owner: "x", for: .seconds(30))
        try check(taken?.owner == "x" && taken?.name == name, "a free lease is taken")
        try check(try await second.acquire(name, owner: "y", for: .seconds(30)) == nil, "a live lease of another owner is refused")
        let renewed = try await first.acquire(name, owner: "x", for: .seconds(30))
        try check(renewed?.token == taken?.token, "renewing keeps the token")
        let listed = try await second.leases(prefix: prefix)
        try check(listed.map(\.name) == [name] && listed.first?.owner == "x" && listed.first?.token == taken?.token,
                  "the live lease is listed through the other handle: \(listed)")
        try check(try await first.leases(prefix: prefix + "zz").isEmpty, "the prefix selects")
        try await second.release(name, owner: "y")
        try check(try await second.acquire(name, owner: "y", for: .seconds(30)) == nil, "a non-holder's release does nothing")
        try await first.release(name, owner: "x")
        try check(try await first.leases(prefix: prefix).isEmpty, "a released lease is not listed")
        let next = try await second.acquire(name, owner: "y", for: .seconds(30))
        try check(next?.owner == "y" && (next?.token ?? 0) > (taken?.token ?? .max), "the next owner takes it with a greater token")
        try check(try await first.acquire(name, owner: "x", for: .seconds(30)) == nil, "and holds it exclusively")
        try await second.release(name, owner: "y")
        guard timed else { return }
        let short = prefix + "b"
        let lapsing = try await first.acquire(short, owner: "x", for: .milliseconds(150))
        try check(lapsing != nil, "a short lease is taken")
        try await Wait.until("the 150 ms lease to lapse", timeout: .seconds(10)) {
            try await second.acquire(short, owner: "y", for: .seconds(30)) != nil
        }
        let after = try await first.leases(prefix: prefix)
        try check(after.map(\.owner) == ["y"] && after.first.map { $0.token > lapsing!.token } == true,
                  "a lapsed lease passes to the next owner with a greater token: \(after)")
        try await second.release(short, owner: "y")
    }
}

/// Several `StrataTestChild group` processes share a consumer group while the test appends and
/// kills members at random (docs/CONSUMERS.md, "Consumer groups"). After every kill and at the
/// end it checks, from the members' handled-event logs and the checkpoint store:
/// no partition's checkpoint is past an event of it that no member handled; every event is
/// handled at least once; and, merging the logs by time, no stream's events were handled out of
/// order (a member resuming after a handover may repeat events, in order, never skip one).
public struct ConsumerGroupKillRun: Sendable {
    /// The store URL the members open.
    public var store: String
    /// The members' `--checkpoints` argument.
    public var checkpoints: String
    /// Members alive at once.
    public var members = 3
    /// Members killed (SIGKILL) one after another, each replaced by a new one.
    public var kills = 3
    /// Events appended: half before the members start, the rest between kills.
    public var events = 900
    /// Streams the events go to.
    public var streams = 24
    /// Partitions of the group.
    public var partitions = 8
    /// The lease, in milliseconds (timed lease stores give a dead member's partitions away after it).
    public var leaseMilliseconds = 1000
    /// How long a member's handler pauses after logging a batch, before its checkpoint commits
    /// (inside the transaction of a transactional store): kills land in that window.
    public var pauseMilliseconds = 20
    /// The seed of the appends and the choice of victims.
    public var seed: UInt64

    /// Creates a run.
    public init(store: String, checkpoints: String, seed: UInt64) {
        self.store = store
        self.checkpoints = checkpoints
        self.seed = seed
    }

    /// Runs it: `eventStore` is this process's handle on the same store (appends, reads), and
    /// `readCheckpoints` reads the group's partition checkpoints (`[partition: position]`,
    /// absent before the first) from the checkpoint store.
    /// - Throws: ``CheckFailed`` (with the seed) when a property does not hold, or what waiting,
    ///   the children or the store throw.
    /// - Returns: how many events were handled more than once (after a kill or a handover).
    @discardableResult
    public func run(eventStore: any EventStore, group: String, logs: String,
                    readCheckpoints: @Sendable () async throws -> [Int: UInt64]) async throws -> Int {
        var rng = SplitMix64(seed: seed)
        // The appends, decided up front from the seed: (stream, size) until `events`.
        var plan: [(stream: String, size: Int)] = []
        var planned = 0
        while planned < events {
            let size = min(events - planned, Int.random(in: 1 ... 5, using: &rng))
            plan.append(("s-\(Int.random(in: 0 ..< streams, using: &rng))", size))
            planned += size
        }
        var next = 0
        /// Appends the planned appends up to `target` events, in a task of its own.
        func append(upTo target: Int) -> Task<Void, any Error> {
            var slice: [(stream: String, size: Int)] = []
            var count = plan[..<next].reduce(0) { $0 + $1.size }
            while next < plan.count, count < target {
                slice.append(plan[next])
                count += plan[next].size
                next += 1
            }
            return Task {
                for (stream, size) in slice {
                    try await eventStore.append(to: stream, events: (0 ..< size).map { _ in EventData(type: "tick", json: "{}") })
                }
            }
        }
        try await append(upTo: events / 2).value
        let total = UInt64(events)
        var alive: [ChildProcess] = []
        var started = 0
        func startMember() throws {
            alive.append(try TestChild.start(store: store, "group", [
                "--checkpoints", self.checkpoints, "--group", group, "--member", "m\(started)", "--partitions", String(partitions),
                "--lease-ms", String(leaseMilliseconds), "--until", String(total), "--log", logs + "/m\(started).log", "--batch", "7", "--pause-ms", String(pauseMilliseconds),
            ]))
            started += 1
        }
        defer { for child in alive { child.signal(SIGKILL) } }
        for _ in 0 ..< members { try startMember() }
        for kill in 0 ..< kills {
            // Append more, and kill a member at random while the group handles it.
            let before = try handledLines(logs).count
            let appending = append(upTo: events / 2 + (events / 2) * (kill + 1) / (kills + 1))
            try await Wait.until("the group to handle more events (seed \(seed))", timeout: .seconds(60)) {
                try handledLines(logs).count >= before + 10 || alive.contains { !$0.isRunning }
            }
            if let dead = alive.first(where: { !$0.isRunning }) {
                throw CheckFailed("member \(dead) exited early (seed \(seed)): \(dead.stderr)")
            }
            let victim = alive.remove(at: Int.random(in: 0 ..< alive.count, using: &rng))
            try await victim.kill()
            try await checkCovered(eventStore: eventStore, logs: logs, readCheckpoints: readCheckpoints, when: "after kill \(kill + 1)")
            try startMember()
            try await appending.value
        }
        try await append(upTo: events).value
        for child in alive {
            try await child.waitForLines("\(child) to finish (seed \(seed))", timeout: .seconds(120)) { $0.contains("done") }
            _ = try await child.waitForExit(timeout: .seconds(30))
            if !child.exitedCleanly { throw CheckFailed("\(child) failed (seed \(seed)): \(child.stderr)") }
        }
        alive = []
        let reached = try await readCheckpoints()
        for partition in 0 ..< partitions where (reached[partition] ?? 0) < total {
            throw CheckFailed("partition \(partition) is checkpointed through \(reached[partition] ?? 0), not \(total) (seed \(seed))")
        }
        try await checkCovered(eventStore: eventStore, logs: logs, readCheckpoints: readCheckpoints, when: "at the end")
        let lines = try handledLines(logs)
        let handled = Set(lines.map(\.position))
        if let missing = (1 ... total).first(where: { !handled.contains($0) }) {
            throw CheckFailed("event \(missing) was never handled (seed \(seed))")
        }
        var highest: [String: UInt64] = [:]
        for line in lines.sorted(by: { ($0.time, $0.order) < ($1.time, $1.order) }) {
            let seen = highest[line.stream] ?? 0
            if line.revision > seen + 1 {
                throw CheckFailed("\(line.stream) revision \(line.revision) was handled before revision \(seen + 1) (seed \(seed))")
            }
            highest[line.stream] = max(seen, line.revision)
        }
        return lines.count - handled.count
    }

    /// No partition's checkpoint is past an event of it that is not in the logs. The
    /// checkpoints are read first: a handler logs an event before its checkpoint commits.
    private func checkCovered(eventStore: any EventStore, logs: String, readCheckpoints: @Sendable () async throws -> [Int: UInt64],
                              when: String) async throws {
        let checkpoints = try await readCheckpoints()
        let handled = Set(try handledLines(logs).map(\.position))
        for event in try await eventStore.readAll().collect() {
            let partition = ConsumerGroups.partition(of: event.stream, count: partitions)
            if event.position <= checkpoints[partition] ?? 0, !handled.contains(event.position) {
                throw CheckFailed("\(when): partition \(partition)'s checkpoint \(checkpoints[partition] ?? 0) is past event \(event.position), which no member handled (seed \(seed))")
            }
        }
    }

    private struct Line {
        var time: Int64
        var order: Int
        var position: UInt64
        var stream: String
        var revision: UInt64
    }

    private func handledLines(_ logs: String) throws -> [Line] {
        var lines: [Line] = []
        for file in (try? FileManager.default.contentsOfDirectory(atPath: logs).sorted()) ?? [] where file.hasSuffix(".log") {
            let text = (try? String(contentsOfFile: logs + "/" + file, encoding: .utf8)) ?? ""
            // A line being written when read is incomplete: only whole lines count.
            for raw in text.split(separator: "\n", omittingEmptySubsequences: true) where text.hasSuffix("\n") || raw != text.split(separator: "\n").last {
                let parts = raw.split(separator: " ")
                guard parts.count == 5, parts[0] == "handled", let time = Int64(parts[1]), let position = UInt64(parts[2]),
                      let revision = UInt64(parts[4]) else { throw CheckFailed("a malformed log line in \(file): \(raw)") }
                lines.append(Line(time: time, order: lines.count, position: position, stream: String(parts[3]), revision: revision))
            }
        }
        return lines
    }
}
