import Foundation
import PostgresNIO
import Strata
import Synchronization
import StrataTestSupport
import Testing
@testable import StrataPostgres

/// Connections lost mid-append (issue 14, "Proof under faults"): backends terminated with
/// `pg_terminate_backend`, the server restarted, the server stopped. Each test runs on a
/// private cluster (scripts/postgres.sh), so that killing backends or restarting the server
/// cannot hit the tests running beside it.
///
/// What must hold: an append that fails gets a typed ``StrataError``; every acknowledged
/// append is stored exactly once (an append whose COMMIT outcome was unknown is retried, and
/// its event ids make the retry an idempotent repeat, never a duplicate); and the store goes on
/// by itself, without reopening.
///
/// This suite found that a statement sent on a connection the server had already closed waited
/// forever in postgres-nio; every statement now goes through `guardedQuery`
/// (Support/PostgresQueries.swift), docs/RELIABILITY.md.
@Suite("PostgreSQL connection loss", .serialized,
       .enabled(if: PostgresTest.isEnabled && PostgresTest.script != nil, "needs scripts/postgres.sh"))
struct ConnectionLossTests {
    /// A private cluster started with scripts/postgres.sh.
    struct Cluster: Sendable {
        let script: String
        let url: String
        let directory: String

        static func start() async throws -> Cluster {
            let script = try #require(PostgresTest.script)
            let started = try await ChildProcess.run(script, ["start", "--fast"])
            try #require(started.status == 0, "postgres.sh start failed: \(started.stderr)")
            var exports: [String: String] = [:]
            for line in started.lines where line.hasPrefix("export ") {
                let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
                if pair.count == 2 { exports[String(pair[0])] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
            }
            return Cluster(script: script, url: try #require(exports["STRATA_TEST_POSTGRES_URL"]),
                           directory: try #require(exports["STRATA_TEST_POSTGRES_DIR"]))
        }

        /// `postgres.sh restart|halt|stop DIR`.
        func run(_ command: String) async throws {
            let outcome = try await ChildProcess.run(script, [command, directory])
            try #require(outcome.status == 0, "postgres.sh \(command) failed: \(outcome.stderr)")
        }

        /// Terminates every backend of a Strata store (the pool's and the listener's), from a
        /// connection of its own; returns how many it ended.
        func terminateStoreBackends(onlyInTransaction: Bool = false) async throws -> Int {
            let filter = onlyInTransaction ? " AND state = 'idle in transaction'" : ""
            return try await PostgresTest.withConnection(url: url) { connection in
                let rows = try await connection.rows(PostgresQuery(unsafeSQL: """
                    SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE application_name = 'strata' AND backend_type = 'client backend' AND pid <> pg_backend_pid()\(filter)
                    """), logger: connection.logger)
                return Int(try rows[0].decode(Int64.self))
            }
        }

        static func with<T>(_ body: (Cluster) async throws -> T) async throws -> T {
            let cluster = try await start()
            do {
                let value = try await body(cluster)
                try await cluster.run("stop")
                return value
            } catch {
                try? await cluster.run("stop")
                throw error
            }
        }
    }

    /// What appenders saw: acknowledged appends with their results, and typed failures.
    final class Ledger: Sendable {
        struct Entry: Sendable {
            let ids: [UUID]
            let result: AppendResult
        }
        let acknowledged = Mutex<[Entry]>([])
        let failures = Mutex<[StrataError]>([])
        let untyped = Mutex<[String]>([])
    }

    /// `writers` tasks append `rounds` appends of three events each to their own stream, with
    /// exact expected revisions. An append that fails with a connection error has an unknown
    /// outcome: the writer sends the very same events again (same ids, same expected revision),
    /// as a client would, until it is acknowledged; a duplicate would then show as a second copy
    /// or a wrong revision.
    static func appendLoop(_ store: PostgresEventStore, writers: Int, rounds: Int, ledger: Ledger,
                           tag: String) async {
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    let stream = "\(tag)-\(w)"
                    var revision: UInt64 = 0
                    for round in 0..<rounds {
                        let events = PostgresTest.events(3, from: round * 3, writer: "\(tag)-\(w)")
                        var attempts = 0
                        while true {
                            attempts += 1
                            do {
                                let expected: ExpectedRevision = revision == 0 ? .noStream : .exact(revision)
                                let result = try await store.append(to: stream, expectedRevision: expected, events: events)
                                ledger.acknowledged.withLock { $0.append(.init(ids: events.map(\.id), result: result)) }
                                revision = result.lastRevision
                                break
                            } catch let error as StrataError {
                                ledger.failures.withLock { $0.append(error) }
                                guard case .io = error, attempts < 50 else { return }
                                try? await Task.sleep(for: .milliseconds(100))
                            } catch {
                                ledger.untyped.withLock { $0.append("\(error)") }
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every acknowledged append is stored once, where its result says; nothing else is
    /// stored; positions and revisions have no gap.
    static func expectStoredOnce(_ store: PostgresEventStore, ledger: Ledger, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await store.readAll().collect()
        PostgresTest.expectContiguous(stored, sourceLocation: sourceLocation)
        var copies: [UUID: Int] = [:]
        var positionOf: [UUID: UInt64] = [:]
        for event in stored {
            copies[event.id, default: 0] += 1
            positionOf[event.id] = event.position
        }
        #expect(copies.values.allSatisfy { $0 == 1 }, "an event id is stored twice", sourceLocation: sourceLocation)
        let acknowledged = ledger.acknowledged.withLock { $0 }
        for entry in acknowledged {
            let positions = entry.ids.map { positionOf[$0] }
            #expect(positions == Array(entry.result.firstPosition...entry.result.lastPosition),
                    "an acknowledged append is not stored at its positions", sourceLocation: sourceLocation)
        }
        // Each writer resends until acknowledged, so everything stored was acknowledged.
        #expect(stored.count == acknowledged.reduce(0) { $0 + $1.ids.count }, sourceLocation: sourceLocation)
    }

    static func expectTyped(_ ledger: Ledger, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ledger.untyped.withLock { $0 }.isEmpty, "errors that are no StrataError: \(ledger.untyped.withLock { $0 })",
                sourceLocation: sourceLocation)
        for failure in ledger.failures.withLock({ $0 }) {
            guard case .io = failure else {
                Issue.record("an append failed with \(failure), not an io error", sourceLocation: sourceLocation)
                continue
            }
        }
    }

    @Test("a backend terminated between the inserts and COMMIT: the batch runs again on a new connection, stored once")
    func terminatedBeforeCommit() async throws {
        try await Cluster.with { cluster in
            let kills = Atomic<Int>(0)
            let configuration = try PostgresTest.configuration(schema: "strata", url: cluster.url)
            // The first two transactions lose their connection just before COMMIT.
            let store = try await PostgresEventStore(configuration: configuration, hooks: AppendHooks(beforeCommit: { _ in
                if kills.load(ordering: .relaxed) < 2 {
                    let ended = try await cluster.terminateStoreBackends(onlyInTransaction: true)
                    kills.add(ended, ordering: .relaxed)
                }
            }))
            let first = try await store.append(to: "a", events: PostgresTest.events(3))
            let second = try await store.append(to: "a", expectedRevision: .exact(3), events: PostgresTest.events(2, from: 3))
            #expect(kills.load(ordering: .relaxed) >= 2)
            #expect(first.firstPosition == 1 && first.lastPosition == 3)
            #expect(second.firstPosition == 4 && second.lastPosition == 5 && second.lastRevision == 5)
            let stored = try await store.readAll().collect()
            PostgresTest.expectContiguous(stored)
            #expect(stored.count == 5)
            try await store.close()
        }
    }

    @Test("backends terminated again and again during concurrent appends: typed errors only, every acknowledged append stored once, the store goes on")
    func terminatedDuringAppends() async throws {
        try await Cluster.with { cluster in
            let store = try await PostgresTest.openStore(schema: "strata", url: cluster.url)
            try await Wait.until("the listener to listen", timeout: .seconds(60)) { store.watcher.isListening }
            let ledger = Ledger()
            let done = Atomic<Bool>(false)
            // Twenty rounds of kills at random moments while the appends run (each round ends
            // the pool's connections and the listener's).
            let killer = Task {
                var ended = 0
                for _ in 0..<20 where !done.load(ordering: .relaxed) {
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 20...120)))
                    ended += (try? await cluster.terminateStoreBackends()) ?? 0
                }
                return ended
            }
            await Self.appendLoop(store, writers: 4, rounds: 40, ledger: ledger, tag: "kill")
            done.store(true, ordering: .relaxed)
            let ended = await killer.value
            #expect(ended > 0, "no backend was terminated")
            Self.expectTyped(ledger)
            #expect(ledger.acknowledged.withLock { $0.count } == 4 * 40)
            try await Self.expectStoredOnce(store, ledger: ledger)
            // The store goes on by itself: an append, a read, and the listener listens again.
            let after = try await store.append(to: "after", events: PostgresTest.events(1))
            #expect(after.lastPosition == UInt64(4 * 40 * 3 + 1))
            #expect(try await store.headPosition() == after.lastPosition)
            try await Wait.until("the listener to listen again", timeout: .seconds(60)) { store.watcher.isListening }
            #expect(store.watcher.listenerConnections >= 2)
            try await store.close()
        }
    }

    @Test("a server restart during concurrent appends: typed errors only, every acknowledged append stored once, the store goes on")
    func restartDuringAppends() async throws {
        try await Cluster.with { cluster in
            let store = try await PostgresTest.openStore(schema: "strata", url: cluster.url)
            let ledger = Ledger()
            let appending = Task { await Self.appendLoop(store, writers: 4, rounds: 60, ledger: ledger, tag: "restart") }
            try await Wait.until("some appends before the restart", timeout: .seconds(60)) {
                ledger.acknowledged.withLock { $0.count } >= 20
            }
            try await cluster.run("restart")
            await appending.value
            Self.expectTyped(ledger)
            #expect(ledger.acknowledged.withLock { $0.count } == 4 * 60)
            try await Self.expectStoredOnce(store, ledger: ledger)
            // Without reopening: appends and reads work on the renewed pool.
            let after = try await store.append(to: "after", events: PostgresTest.events(1))
            #expect(after.lastPosition == UInt64(4 * 60 * 3 + 1))
            #expect(try await store.headPosition() == after.lastPosition)
            try await store.close()
        }
    }

    @Test("while the server is down an append fails with an io error; once it is back the same store appends again")
    func serverDown() async throws {
        try await Cluster.with { cluster in
            var configuration = try PostgresTest.configuration(schema: "strata", url: cluster.url)
            configuration.connectTimeout = .seconds(2)
            let store = try await PostgresEventStore(configuration: configuration)
            let first = PostgresTest.events(2)
            let before = try await store.append(to: "s", events: first)
            try await cluster.run("halt")
            let lost = PostgresTest.events(1, from: 2)
            do {
                _ = try await store.append(to: "s", expectedRevision: .exact(2), events: lost)
                Issue.record("an append succeeded while the server was down")
            } catch StrataError.io(_, let operation, let reason) {
                #expect(!operation.isEmpty && !reason.isEmpty)
            } catch {
                Issue.record("expected an io error while the server is down, got \(error)")
            }
            await #expect(throws: StrataError.self) { _ = try await store.headPosition() }
            try await cluster.run("restart")
            // Back: the same store appends (the pool reconnects by itself; the first lease may
            // wait out the pool's backoff).
            var after: AppendResult?
            try await Wait.until("an append after the server came back", timeout: .seconds(120)) {
                after = try? await store.append(to: "s", expectedRevision: .exact(2), events: lost)
                return after != nil
            }
            #expect(after?.firstPosition == before.lastPosition + 1)
            let stored = try await store.readAll().collect()
            PostgresTest.expectContiguous(stored)
            #expect(stored.map(\.id) == (first + lost).map(\.id))
            try await store.close()
        }
    }
}
