import Foundation
import PostgresNIO
import Strata
import StrataConsumers

/// Checkpoints and parked events in the store's own schema (tables `checkpoints` and
/// `parked`), sharing the event store's connection pool. A handler gets the open transaction
/// (a ``PostgresConnection`` between BEGIN and COMMIT) to write its read model; the checkpoint
/// is written in the same transaction, so the model and the checkpoint commit together or not
/// at all — effectively-once processing.
///
/// ```swift
/// let checkpoints = PostgresCheckpointStore(store: store)
/// try await checkpoints.commit(consumer: "totals", through: event.position) { connection in
///     try await connection.query("UPDATE totals SET amount = amount + \(amount)", logger: logger)
/// }
/// ```
///
/// Its leases are rows of the schema's `leases` table, timed by the database server's clock, so
/// `ConsumerGroupMember`s on any hosts sharing the database agree on them whatever their clocks.
public final class PostgresCheckpointStore: CheckpointStore, LeaseStore, SubscriptionDefinitionStore {
    /// The connection inside the checkpoint's transaction.
    public typealias Transaction = PostgresConnection

    private let core: PostgresStoreCore
    private let checkpoints: String
    private let parkedTable: String

    /// Keeps checkpoints in `store`'s schema. Closing the event store closes this too.
    public init(store: PostgresEventStore) {
        self.core = store.core
        self.checkpoints = core.schema.table("checkpoints")
        self.parkedTable = core.schema.table("parked")
    }

    public func checkpoint(for consumer: String) async throws -> UInt64? {
        let sql = "SELECT position FROM \(checkpoints) WHERE consumer = $1"
        let core = self.core
        return try await core.withConnection("read a checkpoint") { connection in
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: try binds(StoredText.encode(consumer))), logger: core.logger)
            return try rows.first.map { UInt64(try $0.decode(Int64.self)) }
        }
    }

    /// Runs `work` inside a transaction, records `position` as the consumer's checkpoint in
    /// the same transaction and commits both; rolls both back when `work` throws (its error is
    /// rethrown as it is).
    ///
    /// - Throws: `work`'s error, or ``StrataError/io(path:operation:reason:)`` when the
    ///   database fails (then nothing of `work` was committed, unless the COMMIT itself was
    ///   lost on a broken connection).
    public func commit<Result: Sendable>(consumer: String, through position: UInt64,
                                         _ work: (PostgresConnection) async throws -> Result) async throws -> Result {
        try core.checkOpen()
        let upsert = """
            INSERT INTO \(checkpoints) (consumer, position) VALUES ($1, $2)
            ON CONFLICT (consumer) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
            """
        let core = self.core
        do {
            return try await core.client.withConnection { connection in
                try await connection.run("BEGIN", logger: core.logger)
                let result: Result
                do {
                    result = try await work(connection)
                } catch {
                    try? await connection.run("ROLLBACK", logger: core.logger)
                    throw HandlerFailure(error: error)
                }
                do {
                    try await connection.run(PostgresQuery(unsafeSQL: upsert, binds: try binds(StoredText.encode(consumer), Int64(position))),
                                             logger: core.logger)
                    try await connection.run("COMMIT", logger: core.logger)
                } catch {
                    try? await connection.run("ROLLBACK", logger: core.logger)
                    throw error
                }
                return result
            }
        } catch let failure as HandlerFailure {
            throw failure.error
        } catch {
            if core.isClosed { throw StrataError.storeClosed(reason: "close() was called") }
            throw PostgresFailure.strataError(error, url: core.url, operation: "commit a checkpoint")
        }
    }

    public func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        let core = self.core
        let name = StoredText.encode(consumer)
        let query: PostgresQuery
        if let position {
            query = PostgresQuery(unsafeSQL: """
                INSERT INTO \(checkpoints) (consumer, position) VALUES ($1, $2)
                ON CONFLICT (consumer) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
                """, binds: try binds(name, Int64(position)))
        } else {
            query = PostgresQuery(unsafeSQL: "DELETE FROM \(checkpoints) WHERE consumer = $1", binds: try binds(name))
        }
        try await core.withConnection("reset a checkpoint") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }

    public func park(_ entry: ParkedEvent) async throws {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: """
            INSERT INTO \(parkedTable) (consumer, position, stream, revision, type, error, attempts, parked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (consumer, position) DO UPDATE SET stream = EXCLUDED.stream, revision = EXCLUDED.revision,
                type = EXCLUDED.type, error = EXCLUDED.error, attempts = EXCLUDED.attempts, parked_at = EXCLUDED.parked_at
            """, binds: try binds(StoredText.encode(entry.consumer), Int64(entry.position), StoredText.encode(entry.stream),
                                  Int64(entry.revision), StoredText.encode(entry.type), StoredText.encode(entry.error),
                                  Int32(clamping: entry.attempts), entry.parkedAtMicroseconds))
        try await core.withConnection("park an event") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }

    public func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        guard limit > 0 else { return [] }
        let core = self.core
        let query = PostgresQuery(unsafeSQL: """
            SELECT position, stream, revision, type, error, attempts, parked_at FROM \(parkedTable)
            WHERE consumer = $1 AND position > $2 ORDER BY position LIMIT $3
            """, binds: try binds(StoredText.encode(consumer), Int64(clamping: position ?? 0), Int64(limit)))
        return try await core.withConnection("list parked events") { connection in
            try await connection.rows(query, logger: core.logger).map { row in
                let (position, stream, revision, type, error, attempts, parkedAt) =
                    try row.decode((Int64, String, Int64, String, String, Int32, Int64).self)
                return ParkedEvent(consumer: consumer, position: UInt64(position), stream: StoredText.decode(stream),
                                   revision: UInt64(revision), type: StoredText.decode(type), error: StoredText.decode(error),
                                   attempts: Int(attempts), parkedAtMicroseconds: parkedAt)
            }
        }
    }

    public func unpark(consumer: String, position: UInt64) async throws {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: "DELETE FROM \(parkedTable) WHERE consumer = $1 AND position = $2",
                                  binds: try binds(StoredText.encode(consumer), Int64(position)))
        try await core.withConnection("unpark an event") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }

    /// The store the consumer's checkpoint is bound to: the schema's `meta` key `checkpoint_store:{consumer}`.
    public func boundStore(consumer: String) async throws -> StoreIdentity? {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: "SELECT value FROM \(core.schema.table("meta")) WHERE key = $1",
                                  binds: try binds("checkpoint_store:" + StoredText.encode(consumer)))
        let value = try await core.withConnection("read the checkpoints' store") { connection in
            try await connection.rows(query, logger: core.logger).first?.decode(String.self)
        }
        return try value.map { try StoreIdentity($0) }
    }

    public func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: """
            INSERT INTO \(core.schema.table("meta")) (key, value) VALUES ($1, $2)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """, binds: try binds("checkpoint_store:" + StoredText.encode(consumer), identity.value))
        try await core.withConnection("bind the checkpoints to a store") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }
}

extension PostgresCheckpointStore {
    /// The server's clock in microseconds since 1970, in SQL.
    private static let now = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

    public func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease? {
        let core = self.core
        let leases = core.schema.table("leases")
        // One statement decides: insert, renew (same owner, live: same token) or take over
        // (lapsed: next token); a live lease of another owner matches no row.
        let query = PostgresQuery(unsafeSQL: """
            WITH clock AS (SELECT \(Self.now) AS now)
            INSERT INTO \(leases) AS l (name, owner, token, expires_at)
            SELECT $1, $2, 1, clock.now + $3 FROM clock
            ON CONFLICT (name) DO UPDATE SET
                token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > EXCLUDED.expires_at - $3
                             THEN l.token ELSE l.token + 1 END,
                owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE l.owner = EXCLUDED.owner OR l.expires_at <= EXCLUDED.expires_at - $3
            RETURNING token, expires_at
            """, binds: try binds(StoredText.encode(name), StoredText.encode(owner), duration.microseconds))
        return try await core.withConnection("take a lease") { connection in
            guard let row = try await connection.rows(query, logger: core.logger).first else { return nil }
            let (token, expires) = try row.decode((Int64, Int64).self)
            return Lease(name: name, owner: owner, token: UInt64(token), expiresAtMicroseconds: expires)
        }
    }

    public func release(_ name: String, owner: String) async throws {
        let core = self.core
        // Lapsed, not deleted: the next holder's token still grows.
        let query = PostgresQuery(unsafeSQL: "UPDATE \(core.schema.table("leases")) SET expires_at = 0 WHERE name = $1 AND owner = $2",
                                  binds: try binds(StoredText.encode(name), StoredText.encode(owner)))
        try await core.withConnection("release a lease") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }

    public func leases(prefix: String) async throws -> [Lease] {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: """
            SELECT name, owner, token, expires_at FROM \(core.schema.table("leases"))
            WHERE starts_with(name, $1) AND expires_at > \(Self.now) ORDER BY name
            """, binds: try binds(StoredText.encode(prefix)))
        return try await core.withConnection("list leases") { connection in
            try await connection.rows(query, logger: core.logger).map { row in
                let (name, owner, token, expires) = try row.decode((String, String, Int64, Int64).self)
                return Lease(name: StoredText.decode(name), owner: StoredText.decode(owner), token: UInt64(token), expiresAtMicroseconds: expires)
            }
        }
    }
}

extension PostgresCheckpointStore {
    /// The records in the schema's `meta` table, keys `persistent_subscription:<key>`, values the JSON text.
    public func definitions() async throws -> [String: Data] {
        let core = self.core
        let query = PostgresQuery(unsafeSQL: "SELECT key, value FROM \(core.schema.table("meta")) WHERE starts_with(key, 'persistent_subscription:')")
        return try await core.withConnection("read persistent subscriptions") { connection in
            var result: [String: Data] = [:]
            for row in try await connection.rows(query, logger: core.logger) {
                let (key, value) = try row.decode((String, String).self)
                result[StoredText.decode(String(key.dropFirst(24)))] = Data(value.utf8)
            }
            return result
        }
    }

    public func saveDefinition(_ key: String, _ record: Data?) async throws {
        let core = self.core
        let name = "persistent_subscription:" + StoredText.encode(key)
        let query: PostgresQuery
        if let record {
            query = PostgresQuery(unsafeSQL: """
                INSERT INTO \(core.schema.table("meta")) (key, value) VALUES ($1, $2)
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, binds: try binds(name, String(decoding: record, as: UTF8.self)))
        } else {
            query = PostgresQuery(unsafeSQL: "DELETE FROM \(core.schema.table("meta")) WHERE key = $1", binds: try binds(name))
        }
        try await core.withConnection("save a persistent subscription") { connection in
            try await connection.run(query, logger: core.logger)
        }
    }
}

/// Carries a handler's own error through the pool, so that it reaches the caller unchanged.
private struct HandlerFailure: Error {
    let error: any Error
}
