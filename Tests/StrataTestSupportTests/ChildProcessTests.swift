import Foundation
import StrataTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The child-process runner every test target uses: output, stdin, timeouts, signals, and no
/// child outliving its handle.
@Suite("ChildProcess")
struct ChildProcessTests {
    @Test("run returns a program's status, stdout and stderr, and feeds it stdin")
    func runToEnd() async throws {
        let outcome = try await ChildProcess.run("/bin/sh", ["-c", "read line; echo \"got $line\"; echo oops >&2; exit 3"], stdin: "hello\n")
        #expect(outcome.status == 3 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.lines == ["got hello"])
        #expect(outcome.stderr == "oops\n")
    }

    @Test("a program still running at its timeout is killed, and the outcome says so")
    func timeout() async throws {
        let started = ContinuousClock.now
        let outcome = try await ChildProcess.run("/bin/sleep", ["600"], timeout: .milliseconds(300))
        #expect(outcome.timedOut && outcome.status == SIGKILL, "\(outcome)")
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test("lines arrive while the child runs; SIGTERM ends it; a wait for a line it never printed ends with its exit")
    func linesAndSignals() async throws {
        let child = try ChildProcess.start("/bin/sh", ["-c", "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.05; done"])
        #expect(try await child.firstLine(startingWith: "rea") == "ready")
        #expect(child.isRunning)
        #expect(try await child.stop(grace: .seconds(30)), "SIGTERM did not end it: \(child.stderr)")
        #expect(child.exitedCleanly && child.lines == ["ready", "bye"], "\(child.lines)")
        await #expect(throws: ChildProcess.ExitedEarly.self) { try await child.waitForLines("a line never printed") { $0.contains("never") } }
    }

    @Test("a child whose handle goes away while it runs is killed: none outlives a failing test")
    func teardownKills() async throws {
        var child: ChildProcess? = try ChildProcess.start("/bin/sleep", ["600"])
        let pid = try #require(child?.pid)
        #expect(Self.isAlive(pid))
        child = nil
        try await Wait.until("the abandoned child to die", timeout: .seconds(30)) { !Self.isAlive(pid) }
    }

    /// Whether `pid` is a process that has not ended (a zombie has ended: it waits to be reaped).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }
}

@Suite("Wait")
struct WaitTests {
    @Test("until returns once the condition holds and throws TimedOut, naming what it waited for, when it never does")
    func until() async throws {
        let start = ContinuousClock.now
        try await Wait.until("a tenth of a second", timeout: .seconds(30)) { ContinuousClock.now - start > .milliseconds(100) }
        do {
            try await Wait.until("something that never happens", timeout: .milliseconds(50)) { false }
            Issue.record("no timeout")
        } catch let timedOut as TimedOut {
            #expect(timedOut.description.contains("something that never happens"))
        }
    }

    @Test("within returns the body's value, or cancels the body and throws TimedOut")
    func within() async throws {
        #expect(try await Wait.within(.seconds(30), "a value") { 42 } == 42)
        await #expect(throws: TimedOut.self) {
            try await Wait.within(.milliseconds(50), "a body that sleeps") { try await Task.sleep(for: .seconds(600)) }
        }
    }
}
