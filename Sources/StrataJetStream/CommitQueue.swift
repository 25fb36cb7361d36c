import Foundation
import Strata
import Synchronization

/// Receives an append's outcome.
typealias AppendCompletion = @Sendable (Result<[AppendResult], any Error>) -> Void

/// A write waiting for its commit.
enum QueuedWrite: Sendable {
    case append([AppendRequest], AppendCondition?, AppendCompletion)
    case delete(String, ExpectedRevision, DeleteMode, CheckedContinuation<Void, any Error>)
    case metadata(String, StreamMetadata, CheckedContinuation<Void, any Error>)

    func fail(_ error: any Error) {
        switch self {
        case .append(_, _, let complete): complete(.failure(error))
        case .delete(_, _, _, let c): c.resume(throwing: error)
        case .metadata(_, _, let c): c.resume(throwing: error)
        }
    }

    var eventCount: Int {
        if case .append(let requests, _, _) = self { return requests.reduce(0) { $0 + $1.events.count } }
        return 0
    }

    var isAppend: Bool {
        if case .append = self { return true }
        return false
    }
}

/// The group-commit queue: writers enqueue, one drainer at a time takes a batch (a run of
/// appends, or one delete or metadata change) and commits it as one JetStream message.
final class CommitQueue: Sendable {
    private struct State {
        var items: [QueuedWrite] = []
        var draining = false
        var closed = false
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Makes the caller the drainer when none runs and nothing waits: it then commits its own
    /// write at once (no task hop) and calls ``finishLeading()`` after.
    func lead() -> Bool {
        state.withLock { s in
            guard !s.draining, !s.closed, s.items.isEmpty else { return false }
            s.draining = true
            return true
        }
    }

    /// Ends a ``lead()``: returns whether writes queued meanwhile, in which case the caller must
    /// start a drainer for them (the queue stays marked as draining).
    func finishLeading() -> Bool {
        let (more, idle) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
            if !s.items.isEmpty { return (true, []) }
            s.draining = false
            defer { s.idle.removeAll() }
            return (false, s.idle)
        }
        for c in idle { c.resume() }
        return more
    }

    /// Adds a write. Returns whether the caller must start a drainer.
    func push(_ item: QueuedWrite) -> Bool {
        let (start, refused) = state.withLock { s -> (Bool, Bool) in
            if s.closed { return (false, true) }
            s.items.append(item)
            if s.draining { return (false, false) }
            s.draining = true
            return (true, false)
        }
        if refused { item.fail(StrataError.storeClosed(reason: "close() was called")) }
        return start
    }

    /// The next batch, or `nil` (and the drainer stops) when the queue is empty.
    func take(maxEvents: Int) -> [QueuedWrite]? {
        let (batch, idle) = state.withLock { s -> ([QueuedWrite]?, [CheckedContinuation<Void, Never>]) in
            guard let first = s.items.first else {
                s.draining = false
                defer { s.idle.removeAll() }
                return (nil, s.idle)
            }
            guard first.isAppend else {
                s.items.removeFirst()
                return ([first], [])
            }
            var n = 0
            var events = 0
            while n < s.items.count, s.items[n].isAppend, n == 0 || events + s.items[n].eventCount <= maxEvents {
                events += s.items[n].eventCount
                n += 1
            }
            let batch = Array(s.items.prefix(n))
            s.items.removeFirst(n)
            return (batch, [])
        }
        for c in idle { c.resume() }
        return batch
    }

    /// Refuses later writes and returns those still queued.
    func close() -> [QueuedWrite] {
        state.withLock { s in
            s.closed = true
            defer { s.items.removeAll() }
            return s.items
        }
    }

    /// Returns when no drainer runs.
    func waitIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if !s.draining { return true }
                s.idle.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}
