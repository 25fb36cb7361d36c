import Logging
import PostgresNIO
import Strata
import Synchronization

/// Learns of appends made by any process: a dedicated connection LISTENs on the schema's
/// channel (every append transaction NOTIFYs the new head), and waiting subscriptions poll the
/// head at a bounded interval as a fallback. A lost notification therefore delays delivery by
/// at most one poll interval and never loses an event. When the listening connection breaks
/// (a server restart), it reconnects with backoff and reads the head once it listens again.
final class AppendWatcher: Sendable {
    /// Announces head positions to waiting subscriptions.
    let notifier: AppendNotifier
    private let core: PostgresStoreCore
    private let listener = Mutex<Task<Void, Never>?>(nil)
    private let poll = Mutex<PollState>(PollState())
    /// Whether the listening connection currently listens (for tests and stats).
    private let listening = Atomic<Bool>(false)
    /// How many times the listening connection was (re)established.
    private let connections = Atomic<Int>(0)

    private struct PollState {
        var inFlight: Task<UInt64, any Error>?
        var last: ContinuousClock.Instant?
    }

    init(core: PostgresStoreCore, head: UInt64) {
        self.core = core
        self.notifier = AppendNotifier(head: head)
    }

    /// Whether the listener is connected and listening now.
    var isListening: Bool { listening.load(ordering: .relaxed) }
    /// How many listening connections were established so far (1 + reconnects).
    var listenerConnections: Int { connections.load(ordering: .relaxed) }

    /// Starts listening, on `connection` first (the store's bootstrap connection).
    func start(with connection: PostgresConnection) {
        let task = Task { [self] in await listen(first: connection) }
        listener.withLock { $0 = task }
    }

    /// Stops the listener and wakes every waiter.
    func close() async {
        notifier.close()
        let task = listener.withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
        task?.cancel()
        await task?.value
    }

    /// Returns once the head is past `position` (or the store closes). Waits for a
    /// notification, and polls the head every poll interval in case one was lost.
    func waitForAppends(after position: UInt64) async throws {
        while true {
            if core.isClosed || notifier.head > position { return }
            try await notifier.wait(after: position, timeout: core.configuration.pollInterval)
            if core.isClosed || notifier.head > position { return }
            // While the server is unreachable the poll fails: keep waiting, the subscription
            // resumes from its place once the server is back.
            if let head = try? await polledHead() { notifier.advance(to: head) }
        }
    }

    /// Reads the head, sharing one query among waiters that ask at once and answering from a
    /// read less than half a poll interval old.
    private func polledHead() async throws -> UInt64 {
        let fresh = core.configuration.pollInterval / 2
        enum Step { case cached(UInt64), task(Task<UInt64, any Error>) }
        let step = poll.withLock { p -> Step in
            if let task = p.inFlight { return .task(task) }
            if let last = p.last, ContinuousClock.now - last < fresh { return .cached(notifier.head) }
            let task = Task { [core] in
                try await core.withConnection("read the head", retrying: false) { connection in
                    let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.head), logger: core.logger)
                    return UInt64(try rows[0].decode(Int64.self))
                }
            }
            p.inFlight = task
            return .task(task)
        }
        switch step {
        case .cached(let head): return head
        case .task(let task):
            defer {
                poll.withLock { p in
                    if p.inFlight == task { p.inFlight = nil; p.last = .now }
                }
            }
            return try await task.value
        }
    }

    private func listen(first: PostgresConnection) async {
        var next: PostgresConnection? = first
        var backoff = Duration.milliseconds(50)
        while !Task.isCancelled && !core.isClosed {
            var current: PostgresConnection?
            do {
                let connection: PostgresConnection
                if let next { connection = next } else { connection = try await core.connector.connect(logger: core.logger) }
                next = nil
                current = connection
                connections.add(1, ordering: .relaxed)
                try await connection.listen(on: core.schema.channel) { notifications in
                    listening.store(true, ordering: .relaxed)
                    backoff = .milliseconds(50)
                    // Appends committed while nobody listened were announced to no one.
                    let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.head), logger: core.logger)
                    notifier.advance(to: UInt64(try rows[0].decode(Int64.self)))
                    for try await notification in notifications {
                        if let head = UInt64(notification.payload) { notifier.advance(to: head) }
                    }
                }
            } catch {
                if !Task.isCancelled && !core.isClosed {
                    core.logger.info("append listener: \(PostgresFailure.strataError(error, url: core.url, operation: "listen")); reconnecting")
                }
            }
            listening.store(false, ordering: .relaxed)
            try? await current?.close()
            if Task.isCancelled || core.isClosed { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
        listening.store(false, ordering: .relaxed)
        try? await next?.close()
    }
}
