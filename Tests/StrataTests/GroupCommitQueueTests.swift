import Foundation
import Strata
import Synchronization
import Testing

/// A value shared between test tasks and the queue's writers.
private final class Locked<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

@Suite("GroupCommitQueue")
struct GroupCommitQueueTests {
    typealias Queue = GroupCommitQueue<Int, Int>

    private struct TimedOut: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    private struct Refused: Error, Equatable {}

    /// Waits (bounded) until `condition` holds.
    private func waitUntil(_ what: String, within limit: Duration = .seconds(60), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            if ContinuousClock.now > deadline { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Waits (bounded) for a task's result.
    private func result<T: Sendable>(of task: Task<T, any Error>, within limit: Duration = .seconds(60)) async throws -> Result<T, any Error> {
        try await withThrowingTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask { await task.result }
            group.addTask { try await Task.sleep(for: limit); return nil }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut(what: "a task") }
            return value
        }
    }

    /// Waits (bounded) for a task that cannot fail.
    private func value<T: Sendable>(of task: Task<T, Never>) async throws -> T {
        try await result(of: Task<T, any Error> { await task.value }).get()
    }

    /// Submits `requests` one after another, each queued before the next is submitted, so that
    /// their order in the queue is known. Returns the submitting tasks.
    private func submitInOrder(_ queue: Queue, _ requests: [(id: Int, bytes: Int, events: Int, alone: Bool)]) async throws -> [Task<Int, any Error>] {
        var tasks: [Task<Int, any Error>] = []
        for r in requests {
            let before = queue.pendingRequests
            tasks.append(Task { try await queue.submit(r.id, bytes: r.bytes, events: r.events, alone: r.alone) })
            try await waitUntil("request \(r.id) to be queued") { queue.pendingRequests == before + 1 }
        }
        return tasks
    }

    /// Takes the next batch (there must be one) and answers each request with its id times 10.
    private func takeAndAnswer(_ queue: Queue) -> [Int] {
        guard case .batch(let batch) = queue.takeBatch(deadline: Date().addingTimeInterval(60)) else { return [] }
        for pending in batch { pending.succeed(pending.request * 10) }
        return batch.map(\.request)
    }

    @Test("a batch stops before the event bound, keeps submission order, and takes one oversized request alone")
    func batchesByEvents() async throws {
        let queue = Queue(limits: .init(maxBatchEvents: 10))
        let tasks = try await submitInOrder(queue, [(1, 0, 4, false), (2, 0, 4, false), (3, 0, 4, false), (4, 0, 20, false),
                                                    (5, 0, 1, false), (6, 0, 1, false)])
        #expect(takeAndAnswer(queue) == [1, 2])
        #expect(takeAndAnswer(queue) == [3])
        #expect(takeAndAnswer(queue) == [4])
        #expect(takeAndAnswer(queue) == [5, 6])
        for (i, task) in tasks.enumerated() { #expect(try await result(of: task).get() == (i + 1) * 10) }
        guard case .timedOut = queue.takeBatch(deadline: Date()) else {
            Issue.record("an empty queue returned something other than timedOut")
            return
        }
    }

    @Test("a batch stops before the byte bound; a request that must be alone forms its own batch")
    func batchesByBytesAndAlone() async throws {
        let queue = Queue(limits: .init(maxBatchBytes: 100))
        let tasks = try await submitInOrder(queue, [(1, 60, 1, false), (2, 40, 1, false), (3, 1, 1, false), (4, 1, 1, true),
                                                    (5, 1, 1, false), (6, 500, 1, false)])
        #expect(takeAndAnswer(queue) == [1, 2])
        #expect(takeAndAnswer(queue) == [3])
        #expect(takeAndAnswer(queue) == [4])
        #expect(takeAndAnswer(queue) == [5])
        #expect(takeAndAnswer(queue) == [6])
        for task in tasks { _ = try await result(of: task).get() }
    }

    @Test("close fails every queued request and every later submit; the writer sees the queue finished")
    func closeFailsPendingAndLater() async throws {
        let queue = Queue()
        let tasks = try await submitInOrder(queue, [(1, 1, 1, false), (2, 1, 1, false), (3, 1, 1, false)])
        queue.close(failing: Refused())
        for task in tasks {
            await #expect(throws: Refused.self) { try await self.result(of: task).get() }
        }
        await #expect(throws: Refused.self) { try await queue.submit(4, bytes: 1, events: 1) }
        #expect(queue.pendingRequests == 0)
        guard case .finished = queue.takeBatch(deadline: Date().addingTimeInterval(60)) else {
            Issue.record("a closed queue did not report finished")
            return
        }
    }

    @Test("finish refuses later submits and lets the writer take what was submitted before")
    func finishDrains() async throws {
        let queue = Queue()
        let tasks = try await submitInOrder(queue, [(1, 1, 1, false), (2, 1, 1, false)])
        queue.finish()
        do {
            _ = try await queue.submit(3, bytes: 1, events: 1)
            Issue.record("a submit after finish was accepted")
        } catch StrataError.storeClosed {
        }
        #expect(takeAndAnswer(queue) == [1, 2])
        #expect(try await result(of: tasks[0]).get() == 10)
        #expect(try await result(of: tasks[1]).get() == 20)
        guard case .finished = queue.takeBatch(deadline: Date().addingTimeInterval(60)) else {
            Issue.record("a finished, empty queue did not report finished")
            return
        }
    }

    @Test("a final request comes last, after everything submitted before it, and refuses later submits")
    func finalRequest() async throws {
        let queue = Queue()
        let first = try await submitInOrder(queue, [(1, 1, 1, false)])
        let final = Task { try await queue.submitFinal(99) }
        try await waitUntil("the final request to be queued") { queue.pendingRequests == 2 }
        await #expect(throws: StrataError.self) { try await queue.submit(2, bytes: 1, events: 1) }
        #expect(takeAndAnswer(queue) == [1, 99])
        #expect(try await result(of: first[0]).get() == 10)
        #expect(try await result(of: final).get() == 990)
    }

    @Test("a full queue makes submits wait for room, in order; a submit cancelled while waiting is dropped")
    func backPressure() async throws {
        let queue = Queue(limits: .init(maxPendingBytes: 1_000, maxPendingRequests: 2))
        let tasks = try await submitInOrder(queue, [(1, 1, 1, false), (2, 1, 1, false), (3, 1, 1, false), (4, 1, 1, false)])
        // Only two were admitted: the batch holds them, and the two waiting ones follow in order.
        #expect(takeAndAnswer(queue) == [1, 2])
        #expect(takeAndAnswer(queue) == [3, 4])
        for (i, task) in tasks.enumerated() { #expect(try await result(of: task).get() == (i + 1) * 10) }

        // By bytes: a request that does not fit waits, and one cancelled while waiting throws.
        let waiting = try await submitInOrder(queue, [(5, 600, 1, false), (6, 600, 1, false), (7, 1, 1, false)])
        waiting[1].cancel()
        await #expect(throws: CancellationError.self) { try await self.result(of: waiting[1]).get() }
        // The cancelled one made room for the one behind it.
        #expect(queue.pendingRequests == 2)
        #expect(takeAndAnswer(queue) == [5, 7])
        #expect(try await result(of: waiting[0]).get() == 50)
        #expect(try await result(of: waiting[2]).get() == 70)
    }

    @Test("a request larger than the pending bound is admitted into an empty queue")
    func oversizedRequestIsAdmitted() async throws {
        let queue = Queue(limits: .init(maxPendingBytes: 10))
        let tasks = try await submitInOrder(queue, [(1, 1_000, 1, false), (2, 1, 1, false)])
        #expect(takeAndAnswer(queue) == [1])
        #expect(takeAndAnswer(queue) == [2])
        for task in tasks { _ = try await result(of: task).get() }
    }

    @Test("close also fails submits waiting for room")
    func closeFailsWaiting() async throws {
        let queue = Queue(limits: .init(maxPendingRequests: 1))
        let tasks = try await submitInOrder(queue, [(1, 1, 1, false), (2, 1, 1, false)])
        queue.close(failing: Refused())
        for task in tasks { await #expect(throws: Refused.self) { try await self.result(of: task).get() } }
    }

    @Test("a writer thread answers concurrent producers, each producer's requests in its order")
    func writerThread() async throws {
        let queue = Queue(limits: .init(maxBatchEvents: 7, maxPendingRequests: 16))
        let order = Locked<[Int]>([])
        let batches = Locked(0)
        let thread = Thread {
            while case .batch(let batch) = queue.takeBatch() {
                batches.withLock { $0 += 1 }
                order.withLock { $0.append(contentsOf: batch.map(\.request)) }
                for pending in batch { pending.succeed(-pending.request) }
            }
        }
        thread.start()
        let producers = 8, each = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in 0..<producers {
                group.addTask {
                    for i in 0..<each {
                        let id = p * 10_000 + i
                        let response = try await queue.submit(id, bytes: 10, events: 1)
                        #expect(response == -id)
                    }
                }
            }
            try await group.waitForAll()
        }
        queue.finish()
        let seen = order.withLock { $0 }
        #expect(seen.count == producers * each)
        for p in 0..<producers {
            #expect(seen.filter { $0 / 10_000 == p } == (0..<each).map { p * 10_000 + $0 })
        }
        #expect(batches.withLock { $0 } <= producers * each)
    }

    @Test("consuming tasks answer every request and return once the queue is finished")
    func consumingTasks() async throws {
        let queue = Queue(limits: .init(maxBatchEvents: 5))
        let taken = Locked<[Int]>([])
        let writers = (0..<2).map { _ in
            Task {
                await queue.consume(regroupingYields: 4) { batch in
                    #expect(!batch.isEmpty && batch.reduce(0) { $0 + $1.events } <= 5 || batch.count == 1)
                    taken.withLock { $0.append(contentsOf: batch.map(\.request)) }
                    for pending in batch { pending.succeed(pending.request + 1) }
                }
            }
        }
        let responses = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for id in 0..<300 { group.addTask { (id, try await queue.submit(id, bytes: 1, events: 1)) } }
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(responses.count == 300 && responses.allSatisfy { $0.value == $0.key + 1 })
        queue.finish()
        for writer in writers { try await value(of: writer) }
        #expect(taken.withLock { $0.sorted() } == Array(0..<300))
    }

    @Test("an inline submit commits in its own task when the queue is idle, and queues while a batch is out")
    func inlineCommit() async throws {
        let queue = Queue()
        let inline = try await queue.submitInline(7, bytes: 1, events: 1) { batch in
            #expect(batch.map(\.request) == [7])
            for pending in batch { pending.succeed(70) }
        }
        #expect(inline == 70)

        // Hold a batch out in a consuming task; an inline submit must then go through the queue.
        let gate = AsyncStream<Void>.makeStream()
        let committed = Locked<[[Int]]>([])
        let writer = Task {
            var release = gate.stream.makeAsyncIterator()
            await queue.consume { batch in
                committed.withLock { $0.append(batch.map(\.request)) }
                if batch.first?.request == 1 { _ = await release.next() }
                for pending in batch { pending.succeed(pending.request * 10) }
            }
        }
        let held = Task { try await queue.submit(1, bytes: 1, events: 1) }
        try await waitUntil("the first batch to be taken") { committed.withLock { $0.count } == 1 }
        let inlineCalled = Locked(false)
        let queued = Task {
            try await queue.submitInline(2, bytes: 1, events: 1) { batch in
                inlineCalled.withLock { $0 = true }
                for pending in batch { pending.succeed(-1) }
            }
        }
        try await waitUntil("the second request to be queued") { queue.pendingRequests == 1 }
        gate.continuation.yield()
        #expect(try await result(of: held).get() == 10)
        #expect(try await result(of: queued).get() == 20)
        #expect(!inlineCalled.withLock { $0 })
        #expect(committed.withLock { $0 } == [[1], [2]])
        queue.close(failing: Refused())
        await queue.waitUntilIdle()
        try await value(of: writer)
    }

    @Test("waitUntilIdle returns once the batch being committed is done")
    func waitUntilIdle() async throws {
        let queue = Queue()
        let gate = AsyncStream<Void>.makeStream()
        let taken = Locked(false)
        let done = Locked(false)
        let writer = Task {
            var release = gate.stream.makeAsyncIterator()
            await queue.consume { batch in
                taken.withLock { $0 = true }
                _ = await release.next()
                done.withLock { $0 = true }
                for pending in batch { pending.succeed(0) }
            }
        }
        let submitted = Task { try await queue.submit(1, bytes: 1, events: 1) }
        try await waitUntil("the batch to be taken") { taken.withLock { $0 } }
        let idle = Task { await queue.waitUntilIdle(); return done.withLock { $0 } }
        gate.continuation.yield()
        #expect(try await value(of: idle))
        _ = try await result(of: submitted).get()
        queue.finish()
        try await value(of: writer)
    }
}
