import Logging
import NIOCore
import Strata
import StrataJSONShapes
import Synchronization

/// One reader of `$all`'s head, shared by every live `$all` subscription of the server.
///
/// Without it, each of N subscribers wakes on every append, reads the new events from the store
/// and encodes them on its own: N reads and N encodings per event. The tail reads each new page
/// once, encodes each event's SSE frame once, keeps the most recent ``capacity`` events in a
/// window, and wakes the waiting subscribers; a subscriber then only filters and writes.
///
/// A subscriber uses the tail only once it has caught up through the store, and only while its
/// next position lies inside the window: one that falls behind (a slow client) reads the missing
/// positions from the store itself, exactly as before, so no event is skipped or repeated.
package final class LiveTail: Sendable {
    /// One event of the window and its frames, encoded once.
    package struct Entry: Sendable {
        package let event: RecordedEvent
        /// The SSE frame for an `$all` subscription in the default (`json`) encoding; `nil` when
        /// no subscriber followed the tail as the event was read (nobody to encode it for).
        let sseFrame: ByteBuffer?
    }

    /// What ``read(from:maxCount:)`` finds at a position.
    enum Read {
        /// Entries from the position on (possibly none) and the last position examined.
        case entries(ArraySlice<Entry>, coveredThrough: UInt64)
        /// The position is older than the window: read it from the store.
        case behind
        /// Nothing new yet: wait with ``wait(after:)``.
        case upToDate
        /// The tail is not running (stopped or failed): use a subscription of your own.
        case unavailable
    }

    /// Why ``wait(after:)`` returned.
    enum Wake: Sendable {
        /// The tail has examined positions beyond the one waited after.
        case progressed
        /// A heartbeat interval passed with nothing new.
        case tick
        /// The tail stopped (shutdown) or failed.
        case stopped
    }

    /// Events kept in the window.
    let capacity: Int
    /// Events read per store page.
    static let pageSize = 512

    private struct State {
        /// The window: ascending positions, the oldest at `first`.
        var entries: [Entry] = []
        var first = 0
        /// Every visible event with a position in `windowStart...coveredThrough` is in the window.
        var windowStart: UInt64 = 1
        var coveredThrough: UInt64 = 0
        var running = false
        var stopped = false
        var nextWaiter = 0
        /// Subscribers served by the tail (between ``attach()`` and ``detach()``).
        var readers = 0
        var waiters: [Int: CheckedContinuation<Wake, Never>] = [:]
    }

    private let state = Mutex(State())
    private let store: any EventStore
    private let heartbeat: Duration
    private let logger: Logger
    private let onStop: (@Sendable (any Error) -> Void)?

    /// - Parameter onStop: told of the error when one stops the tail (it then logs and counts
    ///   it); without it the tail logs the error itself.
    init(store: any EventStore, capacity: Int, heartbeat: Duration, logger: Logger,
         onStop: (@Sendable (any Error) -> Void)? = nil) {
        self.store = store
        self.capacity = capacity
        self.heartbeat = heartbeat
        self.logger = logger
        self.onStop = onStop
    }

    // MARK: Reading

    /// The window's entries from `position` on, at most `maxCount`.
    func read(from position: UInt64, maxCount: Int) -> Read {
        state.withLock { state in
            if state.stopped { return .unavailable }
            if !state.running { return .upToDate }
            if position < state.windowStart { return .behind }
            if position > state.coveredThrough { return .upToDate }
            // Binary search for the first entry at or after `position`.
            var low = state.first, high = state.entries.count
            while low < high {
                let mid = (low + high) / 2
                if state.entries[mid].event.position < position { low = mid + 1 } else { high = mid }
            }
            let end = Swift.min(state.entries.count, low + maxCount)
            let covered = end < state.entries.count ? state.entries[end].event.position - 1 : state.coveredThrough
            return .entries(state.entries[low..<end], coveredThrough: covered)
        }
    }

    /// Waits until the tail has examined a position after `position`, a heartbeat interval
    /// passes, or the tail stops. Returns at once when one of these is already so; a cancelled
    /// task returns `.stopped`.
    func wait(after position: UInt64) async -> Wake {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                let immediate: Wake? = state.withLock { state in
                    if state.stopped || Task.isCancelled { return .stopped }
                    if state.running && state.coveredThrough > position { return .progressed }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: .stopped)
        }
    }

    /// Counts a subscriber as served by the tail, so that new events' frames are encoded.
    func attach() { state.withLock { $0.readers += 1 } }

    /// Ends what ``attach()`` began.
    func detach() { state.withLock { $0.readers -= 1 } }

    // MARK: Running

    /// Follows the store's head until cancelled or ``stop()``; a read error stops the tail
    /// (subscribers then fall back to their own subscriptions) and is logged.
    func run() async {
        do {
            let head = try await store.headPosition()
            let early = state.withLock { state -> [CheckedContinuation<Wake, Never>] in
                state.windowStart = head + 1
                state.coveredThrough = head
                state.running = !state.stopped
                defer { state.waiters.removeAll() }
                return Array(state.waiters.values)
            }
            // Subscribers that caught up before the tail started re-read: they are now inside
            // the window or behind it.
            for waiter in early { waiter.resume(returning: .progressed) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.follow(from: head + 1) }
                group.addTask { try await self.tick() }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch {
            if let onStop {
                onStop(error)
            } else {
                logger.warning("the live tail stopped reading \(String(describing: error)); subscriptions read the store on their own")
            }
        }
        stop()
    }

    /// Stops the tail and wakes every waiter with `.stopped`.
    func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            state.running = false
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .stopped) }
    }

    private func follow(from start: UInt64) async throws {
        var cursor = start
        while !Task.isCancelled {
            if state.withLock({ $0.stopped }) { return }
            let page = try await store.readAllPage(from: .at(cursor), direction: .forward, filter: EventFilter(), maxCount: LiveTail.pageSize)
            // Encode only when someone follows the tail: a server without live subscribers pays
            // for the read of each page, not for the frames.
            let encode = state.withLock { $0.readers > 0 || !$0.waiters.isEmpty }
            let fresh = page.events.map { Entry(event: $0, sseFrame: encode ? LiveEncoding(isAll: true, style: .api).sse(.message(.event($0))) : nil) }
            let covered = page.next.map { $0 - 1 } ?? Swift.max(cursor - 1, page.scannedThrough)
            cursor = covered + 1
            let waiters = state.withLock { state -> [CheckedContinuation<Wake, Never>] in
                state.entries.append(contentsOf: fresh)
                state.coveredThrough = Swift.max(state.coveredThrough, covered)
                let excess = state.entries.count - state.first - capacity
                if excess > 0 {
                    state.first += excess
                    state.windowStart = state.entries[state.first - 1].event.position + 1
                    // Compact once the dropped prefix is as large as the window.
                    if state.first >= capacity {
                        state.entries.removeFirst(state.first)
                        state.first = 0
                    }
                }
                guard !state.waiters.isEmpty else { return [] }
                defer { state.waiters.removeAll(keepingCapacity: true) }
                return Array(state.waiters.values)
            }
            for waiter in waiters { waiter.resume(returning: .progressed) }
            if page.next == nil { try await store.waitForAppends(after: covered) }
        }
    }

    private func tick() async throws {
        while true {
            try await Task.sleep(for: heartbeat)
            let waiters = state.withLock { state -> [CheckedContinuation<Wake, Never>] in
                defer { state.waiters.removeAll(keepingCapacity: true) }
                return Array(state.waiters.values)
            }
            for waiter in waiters { waiter.resume(returning: .tick) }
        }
    }
}
