import Strata
import StrataTestSupport
import Synchronization
import Testing

@Suite("AppendNotifier")
struct AppendNotifierTests {
    /// Waits (bounded) for a task's result.
    private func result<T: Sendable>(of task: Task<T, any Error>, within limit: Duration = .seconds(60)) async throws -> Result<T, any Error> {
        try await Wait.within(limit, "the task's result") { await task.result }
    }

    @Test("wait returns at once when the head is already past the position")
    func alreadyPast() async throws {
        let notifier = AppendNotifier(head: 5)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { try await notifier.wait(after: 4) }
        // Far from the expected microseconds: a loaded machine can stall the two-thread pool for
        // seconds, and a wait that did not return at once would hang (nothing advances the head).
        #expect(elapsed < .seconds(30))
        #expect(notifier.head == 5)
    }

    @Test("wait returns after the head advances past the position")
    func wakesOnAdvance() async throws {
        let notifier = AppendNotifier(head: 3)
        let returned = Mutex(false)
        let waiter = Task {
            try await notifier.wait(after: 3)
            returned.withLock { $0 = true }
        }
        // An advance that does not pass the position leaves it waiting; the timeout proves nothing
        // hangs if it wrongly returned.
        notifier.advance(to: 3)
        notifier.advance(to: 2)
        notifier.advance(to: 4)
        _ = try await result(of: waiter).get()
        #expect(returned.withLock { $0 })
        #expect(notifier.head == 4)
    }

    @Test("an advance that does not pass the position keeps the waiter waiting until its timeout")
    func advanceNotFarEnough() async throws {
        let notifier = AppendNotifier(head: 3)
        let clock = ContinuousClock()
        let waiter = Task { try await clock.measure { try await notifier.wait(after: 5, timeout: .milliseconds(200)) } }
        notifier.advance(to: 4)
        notifier.advance(to: 5)
        let elapsed = try await result(of: waiter).get()
        #expect(elapsed >= .milliseconds(190), "returned after \(elapsed) though the head never passed 5")
    }

    @Test("many waiters at different positions all wake once the head passes them")
    func manyWaiters() async throws {
        let notifier = AppendNotifier()
        let waiters = (0..<50).map { i in Task { try await notifier.wait(after: UInt64(i % 5)) } }
        for head in 1...5 { notifier.advance(to: UInt64(head)) }
        for waiter in waiters { _ = try await result(of: waiter).get() }
    }

    @Test("cancelling a waiting task throws CancellationError promptly")
    func cancellation() async throws {
        let notifier = AppendNotifier()
        let clock = ContinuousClock()
        // Cancelled before it can register, and after it has been waiting a while.
        for delay in [Duration.zero, .milliseconds(50)] {
            let waiter = Task { try await notifier.wait(after: 0) }
            if delay > .zero { try await Task.sleep(for: delay) }
            let cancelledAt = clock.now
            waiter.cancel()
            let outcome = try await result(of: waiter)
            // Generous: tests share a two-thread pool, and a loaded machine can stall it for
            // seconds. A wait that ignored cancellation would hang until the 60 s bound.
            #expect(clock.now - cancelledAt < .seconds(30))
            guard case .failure(let error) = outcome else {
                Issue.record("a cancelled wait returned normally (delay \(delay))")
                continue
            }
            #expect(error is CancellationError, "threw \(error)")
        }
    }

    @Test("a wait with a timeout returns after the timeout when nothing is appended")
    func timeout() async throws {
        let notifier = AppendNotifier(head: 1)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { try await notifier.wait(after: 1, timeout: .milliseconds(100)) }
        #expect(elapsed >= .milliseconds(95))
        #expect(elapsed < .seconds(30), "a loaded machine may stall the pool; an ignored timeout would hang")
    }

    @Test("close wakes every waiter and later waits return at once")
    func close() async throws {
        let notifier = AppendNotifier()
        let waiters = (0..<10).map { _ in Task { try await notifier.wait(after: 100) } }
        notifier.close()
        for waiter in waiters { _ = try await result(of: waiter).get() }
        try await notifier.wait(after: 1_000)
    }
}
