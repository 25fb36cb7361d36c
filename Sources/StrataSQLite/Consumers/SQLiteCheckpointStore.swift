import Foundation
import Strata
import StrataConsumers
import Synchronization

/// Checkpoints and parked events in the SQLite file of the events (tables `strata_checkpoints`
/// and `strata_parked`, docs/SQLITE.md), with transactional commits: a handler writes its read
/// model through the ``SQLiteTransaction`` it receives, and the read model and the checkpoint
/// commit together or not at all (effectively-once processing).
///
/// ```swift
/// let store = try SQLiteEventStore(path: "./events.db")
/// let checkpoints = try SQLiteCheckpointStore(sharing: store)
/// for try await event in store.subscribeToAll(from: .after(try await checkpoints.checkpoint(for: "totals") ?? 0)).events {
///     try await checkpoints.commit(consumer: "totals", through: event.position) { tx in
///         try tx.execute("UPDATE totals SET n = n + 1")
///     }
/// }
/// ```
///
/// The store has its own connection, used by one task at a time: commits of several consumers
/// run one after another. A commit takes SQLite's write lock (`BEGIN IMMEDIATE`) for as long as
/// its work runs, so the event store's writer (and other processes) wait for it: keep the work
/// short, and do not append to an event store on the same file from inside it.
///
/// Its leases are rows of `strata_leases`, timed by this host's clock: they coordinate
/// `ConsumerGroupMember`s in the processes of one host sharing the file.
public final class SQLiteCheckpointStore: CheckpointStore, LeaseStore, SubscriptionDefinitionStore {
    /// The handle a handler writes its read model through.
    public typealias Transaction = SQLiteTransaction

    /// The database file.
    public let path: String
    private let db: SQLiteConnection
    private let turn = ConnectionTurn()
    private let busyTimeout: Duration
    private let closed = Atomic<Bool>(false)

    /// Opens (or creates) the checkpoint tables in the database file at `path`.
    /// - Throws: as ``SQLiteEventStore/init(path:configuration:)``.
    public init(path: String, configuration: SQLiteConfiguration = SQLiteConfiguration()) throws {
        try configuration.validate()
        self.path = path
        db = try SQLiteError.mapped { try SQLiteConnection(path: path) }
        try SQLiteSchema.prepare(db, configuration: configuration)
        // Waiting for the write lock happens in `beginImmediate`, suspended rather than blocking a thread.
        db.setBusyTimeout(milliseconds: 0)
        busyTimeout = .milliseconds(configuration.busyTimeoutMilliseconds)
    }

    /// Opens the checkpoint tables in the file of `store`, with its configuration.
    public convenience init(sharing store: SQLiteEventStore) throws {
        try self.init(path: store.path, configuration: store.configuration)
    }

    // MARK: - Checkpoints

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        try await withConnection { db in
            let query = try db.cached("SELECT position FROM strata_checkpoints WHERE consumer = ?")
            defer { query.reset() }
            query.bind(1, consumer)
            return try query.step() ? query.uint64(0) : nil
        }
    }

    /// Runs `work` inside a `BEGIN IMMEDIATE` transaction, then records `position` as the
    /// consumer's checkpoint in the same transaction and commits. When `work` throws, the
    /// transaction is rolled back (neither its writes nor the checkpoint are stored) and the
    /// error is rethrown.
    @discardableResult
    public func commit<Result: Sendable>(consumer: String, through position: UInt64,
                                         _ work: (SQLiteTransaction) async throws -> Result) async throws -> Result {
        try await turn.run {
            try checkOpen()
            try await beginImmediate()
            let transaction = SQLiteTransaction(db: db)
            do {
                let result = try await work(transaction)
                transaction.end()
                try SQLiteError.mapped {
                    guard db.isInTransaction else {
                        throw StrataError.invalidArgument("the checkpoint transaction ended inside the work; nothing was committed with the checkpoint")
                    }
                    try saveCheckpoint(consumer, position)
                    try db.run("COMMIT")
                }
                return result
            } catch {
                transaction.end()
                db.rollbackQuietly()
                throw error
            }
        }
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        try await write { db in
            if let position {
                try saveCheckpoint(consumer, position)
            } else {
                try db.run("DELETE FROM strata_checkpoints WHERE consumer = ?") { $0.bind(1, consumer) }
            }
        }
    }

    private func saveCheckpoint(_ consumer: String, _ position: UInt64) throws {
        try db.run("""
            INSERT INTO strata_checkpoints(consumer, position, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """) { s in
            s.bind(1, consumer)
            s.bind(2, position)
            s.bind(3, currentMicroseconds())
        }
    }

    // MARK: - Parked events

    public func park(_ entry: ParkedEvent) async throws {
        try await write { db in
            try db.run("""
                INSERT INTO strata_parked(consumer, position, stream, revision, type, error, attempts, parked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(consumer, position) DO UPDATE SET stream = excluded.stream, revision = excluded.revision,
                    type = excluded.type, error = excluded.error, attempts = excluded.attempts, parked_at = excluded.parked_at
                """) { s in
                s.bind(1, entry.consumer)
                s.bind(2, entry.position)
                s.bind(3, entry.stream)
                s.bind(4, entry.revision)
                s.bind(5, entry.type)
                s.bind(6, entry.error)
                s.bind(7, entry.attempts)
                s.bind(8, entry.parkedAtMicroseconds)
            }
        }
    }

    /// Reads one page through the `(consumer, position)` primary key: the cost is the page's size,
    /// whatever the number of parked events.
    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        guard limit > 0 else { return [] }
        return try await withConnection { db in
            let query = try db.cached("""
                SELECT position, stream, revision, type, error, attempts, parked_at FROM strata_parked
                WHERE consumer = ? AND position > ? ORDER BY position LIMIT ?
                """)
            defer { query.reset() }
            query.bind(1, consumer)
            query.bind(2, Int64(bitPattern: position ?? 0))
            query.bind(3, limit)
            var page: [ParkedEvent] = []
            while try query.step() {
                page.append(ParkedEvent(consumer: consumer, position: query.uint64(0), stream: query.text(1), revision: query.uint64(2),
                                        type: query.text(3), error: query.text(4), attempts: Int(query.int64(5)),
                                        parkedAtMicroseconds: query.int64(6)))
            }
            return page
        }
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        try await write { db in
            try db.run("DELETE FROM strata_parked WHERE consumer = ? AND position = ?") { s in
                s.bind(1, consumer)
                s.bind(2, position)
            }
        }
    }

    // MARK: - Store binding

    /// The store the consumer's checkpoint is bound to: `strata_meta` key `checkpoint_store:{consumer}`.
    public func boundStore(consumer: String) async throws -> StoreIdentity? {
        try await withConnection { db in
            try SQLiteSchema.metaValue(db, key: SQLiteSchema.checkpointStoreKeyPrefix + consumer).map { try StoreIdentity($0) }
        }
    }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        try await write { db in
            try db.run("INSERT OR REPLACE INTO strata_meta(key, value) VALUES (?, ?)") { s in
                s.bind(1, SQLiteSchema.checkpointStoreKeyPrefix + consumer)
                s.bind(2, identity.value)
            }
        }
    }

    // MARK: - Leases

    public func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease? {
        let now = currentMicroseconds()
        let expires = now + duration.microseconds
        return try await write { db in
            // One statement decides: insert, renew (same owner, live: same token) or take over
            // (lapsed: next token); a live lease of another owner matches no row.
            let statement = try db.cached("""
                INSERT INTO strata_leases(name, owner, token, expires_at) VALUES (?1, ?2, 1, ?3)
                ON CONFLICT(name) DO UPDATE SET
                    token = CASE WHEN strata_leases.owner = excluded.owner AND strata_leases.expires_at > ?4
                                 THEN strata_leases.token ELSE strata_leases.token + 1 END,
                    owner = excluded.owner, expires_at = excluded.expires_at
                WHERE strata_leases.owner = excluded.owner OR strata_leases.expires_at <= ?4
                RETURNING token
                """)
            defer { statement.reset() }
            statement.bind(1, name)
            statement.bind(2, owner)
            statement.bind(3, expires)
            statement.bind(4, now)
            guard try statement.step() else { return nil }
            let token = statement.uint64(0)
            while try statement.step() {}
            statement.reset()   // done before the COMMIT that follows
            return Lease(name: name, owner: owner, token: token, expiresAtMicroseconds: expires)
        }
    }

    public func release(_ name: String, owner: String) async throws {
        // Lapsed, not deleted: the next holder's token still grows.
        try await write { db in
            try db.run("UPDATE strata_leases SET expires_at = 0 WHERE name = ? AND owner = ?") { s in
                s.bind(1, name)
                s.bind(2, owner)
            }
        }
    }

    public func leases(prefix: String) async throws -> [Lease] {
        let now = currentMicroseconds()
        return try await withConnection { db in
            let query = try db.cached("""
                SELECT name, owner, token, expires_at FROM strata_leases
                WHERE substr(name, 1, length(?1)) = ?1 AND expires_at > ?2 ORDER BY name
                """)
            defer { query.reset() }
            query.bind(1, prefix)
            query.bind(2, now)
            var result: [Lease] = []
            while try query.step() {
                result.append(Lease(name: query.text(0), owner: query.text(1), token: query.uint64(2), expiresAtMicroseconds: query.int64(3)))
            }
            return result
        }
    }

    // MARK: - Persistent subscription definitions

    /// The records in `strata_meta`, keys `persistent_subscription:<key>`, values the JSON text.
    public func definitions() async throws -> [String: Data] {
        try await withConnection { db in
            let query = try db.cached("SELECT key, value FROM strata_meta WHERE substr(key, 1, 24) = 'persistent_subscription:'")
            defer { query.reset() }
            var result: [String: Data] = [:]
            while try query.step() { result[String(query.text(0).dropFirst(24))] = Data(query.text(1).utf8) }
            return result
        }
    }

    public func saveDefinition(_ key: String, _ record: Data?) async throws {
        try await write { db in
            if let record {
                try db.run("INSERT OR REPLACE INTO strata_meta(key, value) VALUES (?, ?)") { s in
                    s.bind(1, "persistent_subscription:" + key)
                    s.bind(2, String(decoding: record, as: UTF8.self))
                }
            } else {
                try db.run("DELETE FROM strata_meta WHERE key = ?") { $0.bind(1, "persistent_subscription:" + key) }
            }
        }
    }

    // MARK: - Closing

    /// Waits for the running commit, then closes the connection. Later calls throw
    /// ``StrataError/storeClosed(reason:)``.
    public func close() async throws {
        try await turn.run {
            if closed.exchange(true, ordering: .acquiringAndReleasing) { return }
            db.close()
        }
    }

    // MARK: - The connection

    private func checkOpen() throws {
        if closed.load(ordering: .acquiring) { throw StrataError.storeClosed(reason: "close() was called") }
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws -> T) async throws -> T {
        try await turn.run {
            try checkOpen()
            return try SQLiteError.mapped { try body(db) }
        }
    }

    /// A short write transaction.
    private func write<T>(_ body: (SQLiteConnection) throws -> T) async throws -> T {
        try await turn.run {
            try checkOpen()
            try await beginImmediate()
            do {
                return try SQLiteError.mapped {
                    let result = try body(db)
                    try db.run("COMMIT")
                    return result
                }
            } catch {
                db.rollbackQuietly()
                throw error
            }
        }
    }

    /// Takes the write lock, suspending (not blocking a thread) while another connection or
    /// process holds it, up to the busy timeout.
    private func beginImmediate() async throws {
        let deadline = ContinuousClock.now + busyTimeout
        var pause = Duration.milliseconds(1)
        while true {
            do {
                try db.run("BEGIN IMMEDIATE")
                return
            } catch let error as SQLiteError where error.isBusy {
                if ContinuousClock.now >= deadline { throw error.strataError }
                try await Task.sleep(for: pause)
                pause = Swift.min(pause * 2, .milliseconds(20))
            } catch let error as SQLiteError {
                throw error.strataError
            }
        }
    }
}
