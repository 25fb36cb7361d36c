import Logging
import PostgresNIO
import Strata

/// The tables of one store and the versioned migrations that create them (docs/POSTGRES.md,
/// "Schema"). Strata owns its schema: it creates it on first open and migrates it forward; a
/// schema written by a newer Strata is refused.
struct PostgresSchema: Sendable {
    /// The schema name, validated (lower-case letters, digits, `_`), so it needs no escaping.
    let name: String

    /// The schema version this build writes and reads.
    static let currentVersion = 3

    /// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
    static let migrations: [(description: String, statements: @Sendable (String) -> [String])] = [
        ("events, streams, head counter, checkpoints, parked events", version1),
        ("meta: the store identity", version2),
        ("leases: consumer groups", version3),
    ]

    /// The table-qualified name `"schema".table`.
    func table(_ table: String) -> String { "\"\(name)\".\(table)" }

    /// The LISTEN/NOTIFY channel that announces appends to this schema.
    var channel: String { "strata_appends_\(name)" }

    /// Creates the schema when missing and applies every migration it lacks, in one
    /// transaction under an advisory lock, so that processes opening the store at once
    /// migrate it once.
    ///
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` when the schema was
    ///   written by a newer Strata, or holds tables that are not Strata's.
    func migrate(on connection: PostgresConnection, logger: Logger, displayURL: String) async throws {
        try await connection.run("BEGIN", logger: logger)
        do {
            // Both sides of the lock key are ours; other applications' advisory locks would
            // have to pick the same 64-bit hash to collide.
            try await connection.run(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                                   binds: try binds("strata-migrate:" + name)), logger: logger)
            let current = try await installedVersion(on: connection, logger: logger, displayURL: displayURL)
            if current > Self.currentVersion {
                throw StrataError.unsupportedFormat(path: displayURL, found: "schema version \(current)",
                                                    supported: "schema version \(Self.currentVersion) or older")
            }
            if current < Self.currentVersion {
                try await connection.run(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(name)\""), logger: logger)
                try await connection.run(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(table("strata_migrations")) (
                        version integer PRIMARY KEY,
                        description text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """), logger: logger)
                for version in current..<Self.currentVersion {
                    let migration = Self.migrations[version]
                    for statement in migration.statements(name) {
                        try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.run(PostgresQuery(
                        unsafeSQL: "INSERT INTO \(table("strata_migrations")) (version, description) VALUES ($1, $2)",
                        binds: try binds(version + 1, migration.description)), logger: logger)
                    logger.info("migrated schema \(name) to version \(version + 1)")
                }
            }
            try await connection.run("COMMIT", logger: logger)
        } catch {
            try? await connection.run("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The version recorded in the schema: 0 when the schema or its migrations table is missing.
    func installedVersion(on connection: PostgresConnection, logger: Logger, displayURL: String) async throws -> Int {
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: """
            SELECT to_regclass($1) IS NOT NULL,
                   (SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $2)
            """, binds: try binds("\"\(name)\".strata_migrations", name)), logger: logger)
        let (hasMigrations, tables) = try rows[0].decode((Bool, Int64).self)
        guard hasMigrations else {
            if tables > 0 {
                throw StrataError.unsupportedFormat(path: displayURL, found: "a schema with \(tables) tables that are not Strata's",
                                                    supported: "an empty or missing schema, or a Strata schema")
            }
            return 0
        }
        let versions = try await connection.rows(PostgresQuery(
            unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(table("strata_migrations"))"), logger: logger)
        return Int(try versions[0].decode(Int32.self))
    }

    /// Schema version 3: the leases of consumer groups (`PostgresCheckpointStore`), timed by
    /// the database server's clock (microseconds since 1970).
    private static func version3(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        return [
            """
            CREATE TABLE \(s).leases (
                name text COLLATE "C" PRIMARY KEY,
                owner text NOT NULL,
                token bigint NOT NULL,
                expires_at bigint NOT NULL)
            """,
        ]
    }

    /// Schema version 2: a key-value table holding the store's identity (`store_id`, a random
    /// lower-case UUID written once) and the store the schema's checkpoints are bound to.
    private static func version2(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        return [
            """
            CREATE TABLE \(s).meta (
                key text COLLATE "C" PRIMARY KEY,
                value text NOT NULL)
            """,
            "INSERT INTO \(s).meta (key, value) VALUES ('store_id', '\(StoreIdentity.random().value)')",
        ]
    }

    /// Schema version 1.
    private static func version1(_ schema: String) -> [String] {
        let s = "\"\(schema)\""
        return [
            // The position counter: one row, locked by each append transaction as late as
            // possible and held until its commit, so positions become visible in order.
            """
            CREATE TABLE \(s).head (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                position bigint NOT NULL CHECK (position >= 0))
            """,
            "INSERT INTO \(s).head (singleton, position) VALUES (true, 0)",
            """
            CREATE TABLE \(s).streams (
                name text COLLATE "C" PRIMARY KEY,
                last_revision bigint NOT NULL DEFAULT 0,
                deleted_through bigint NOT NULL DEFAULT 0,
                tombstoned boolean NOT NULL DEFAULT false,
                max_count bigint,
                max_age double precision,
                truncate_before bigint,
                custom_metadata bytea)
            """,
            """
            CREATE TABLE \(s).events (
                position bigint PRIMARY KEY,
                id uuid NOT NULL UNIQUE,
                stream text COLLATE "C" NOT NULL,
                revision bigint NOT NULL,
                recorded_at bigint NOT NULL,
                type text COLLATE "C" NOT NULL,
                content_type text NOT NULL,
                data bytea NOT NULL,
                metadata bytea,
                tags text[],
                UNIQUE (stream, revision))
            """,
            "CREATE INDEX events_tags ON \(s).events USING gin (tags) WHERE tags IS NOT NULL",
            """
            CREATE TABLE \(s).checkpoints (
                consumer text COLLATE "C" PRIMARY KEY,
                position bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE \(s).parked (
                consumer text COLLATE "C" NOT NULL,
                position bigint NOT NULL,
                stream text NOT NULL,
                revision bigint NOT NULL,
                type text NOT NULL,
                error text NOT NULL,
                attempts integer NOT NULL,
                parked_at bigint NOT NULL,
                PRIMARY KEY (consumer, position))
            """,
        ]
    }
}
