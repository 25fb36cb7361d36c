import Foundation
import Strata

/// Strata's tables in a SQLite file, version 2 (docs/SQLITE.md describes every column). Every
/// table is prefixed `strata_`, so an application may keep its own tables (read models) in the
/// same file.
package enum SQLiteSchema {
    /// The schema version this build writes and reads.
    package static let version = 2

    /// Version 2's addition: the leases of consumer groups (`SQLiteCheckpointStore`).
    static let leases = """
        CREATE TABLE strata_leases(
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            token INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    /// The tables and indexes of version 1 (version 2 adds ``leases``).
    package static let tables = """
        CREATE TABLE strata_meta(
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE strata_streams(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            last_revision INTEGER NOT NULL DEFAULT 0,
            deleted_through INTEGER NOT NULL DEFAULT 0,
            tombstoned INTEGER NOT NULL DEFAULT 0,
            max_count INTEGER,
            max_age REAL,
            truncate_before INTEGER,
            custom BLOB
        );
        CREATE TABLE strata_events(
            position INTEGER PRIMARY KEY,
            stream_id INTEGER NOT NULL,
            revision INTEGER NOT NULL,
            id BLOB NOT NULL,
            recorded_at INTEGER NOT NULL,
            type TEXT NOT NULL,
            content_type TEXT NOT NULL,
            metadata BLOB,
            data BLOB NOT NULL
        );
        CREATE UNIQUE INDEX strata_events_id ON strata_events(id);
        CREATE UNIQUE INDEX strata_events_stream ON strata_events(stream_id, revision);
        CREATE TABLE strata_checkpoints(
            consumer TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE strata_parked(
            consumer TEXT NOT NULL,
            position INTEGER NOT NULL,
            stream TEXT NOT NULL,
            revision INTEGER NOT NULL,
            type TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            parked_at INTEGER NOT NULL,
            PRIMARY KEY(consumer, position)
        ) WITHOUT ROWID;
        """

    /// The insert of one event, shared by the backend and the benchmark's raw baseline.
    package static let insertEvent = """
        INSERT INTO strata_events(position, stream_id, revision, id, recorded_at, type, content_type, metadata, data) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Puts a connection into the mode every Strata connection uses (WAL, the busy timeout, a
    /// larger page cache), then creates the tables in an empty file or checks the version of an
    /// existing one.
    ///
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` for a file written by a
    ///   newer Strata or a file that is not a SQLite database; ``StrataError/io(path:operation:reason:)``.
    package static func prepare(_ db: SQLiteConnection, configuration: SQLiteConfiguration) throws {
        try SQLiteError.mapped {
            db.setBusyTimeout(milliseconds: configuration.busyTimeoutMilliseconds)
            let mode = try journalMode(db)
            if mode != "wal" {
                throw StrataError.io(path: db.path, operation: "PRAGMA journal_mode=WAL",
                                     reason: "SQLite kept journal mode \(mode); WAL needs a local file system with shared memory")
            }
            try db.execute("PRAGMA synchronous=\(configuration.synchronous.pragma); PRAGMA cache_size=-\(configuration.cacheKiB)")
            if try installedVersion(db) == SQLiteSchema.version { return }
            try db.execute("BEGIN IMMEDIATE")
            do {
                // Another connection may have created or migrated the tables since the check above.
                switch try installedVersion(db) {
                case nil:
                    try db.execute(tables + leases)
                    try db.execute("INSERT INTO strata_meta(key, value) VALUES ('schema_version', '\(version)')")
                case 1:
                    try db.execute(leases)
                    try db.execute("UPDATE strata_meta SET value = '\(version)' WHERE key = 'schema_version'")
                default:
                    break
                }
                try db.execute("COMMIT")
            } catch {
                db.rollbackQuietly()
                throw error
            }
        }
    }

    /// Switches to WAL (persistent in the file) and returns the mode SQLite reports.
    private static func journalMode(_ db: SQLiteConnection) throws -> String {
        let statement = try db.prepare("PRAGMA journal_mode=WAL")
        return try statement.step() ? statement.text(0).lowercased() : ""
    }

    /// The `strata_meta` key of the store's identity (a lower-case UUID written at creation).
    package static let storeIdentityKey = "store_id"
    /// The `strata_meta` key of the store a consumer's checkpoint is bound to: this, then the consumer's name.
    package static let checkpointStoreKeyPrefix = "checkpoint_store:"

    /// A `strata_meta` value, or nil when the key is missing.
    package static func metaValue(_ db: SQLiteConnection, key: String) throws -> String? {
        let query = try db.prepare("SELECT value FROM strata_meta WHERE key = ?")
        query.bind(1, key)
        return try query.step() ? query.text(0) : nil
    }

    /// The store's identity, recorded on first open when the file has none (a file created
    /// before identities existed): every connection, in every process, reads the same one.
    package static func identity(_ db: SQLiteConnection) throws -> StoreIdentity {
        try SQLiteError.mapped {
            if let value = try metaValue(db, key: storeIdentityKey) { return try StoreIdentity(value) }
            try db.run("INSERT OR IGNORE INTO strata_meta(key, value) VALUES (?, ?)") { s in
                s.bind(1, storeIdentityKey)
                s.bind(2, StoreIdentity.random().value)
            }
            guard let value = try metaValue(db, key: storeIdentityKey) else {
                throw StrataError.io(path: db.path, operation: "record the store identity", reason: "strata_meta has no store_id after the insert")
            }
            return try StoreIdentity(value)
        }
    }

    /// The version in `strata_meta` (1 or 2), or nil when the file has no Strata tables yet.
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` for another version
    ///   or a `strata_meta` without a readable version.
    static func installedVersion(_ db: SQLiteConnection) throws -> Int? {
        let exists = try db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'strata_meta'")
        guard try exists.step() else { return nil }
        let query = try db.prepare("SELECT value FROM strata_meta WHERE key = 'schema_version'")
        guard try query.step(), let found = Int(query.text(0)) else {
            throw StrataError.unsupportedFormat(path: db.path, found: "a strata_meta table without a schema version",
                                                supported: "Strata SQLite schema v\(version)")
        }
        // Version 1 is migrated to 2 by `prepare`; a later version adds its migration there too.
        if found != version && found != 1 {
            throw StrataError.unsupportedFormat(path: db.path, found: "Strata SQLite schema v\(found)", supported: "Strata SQLite schema v1 or v\(version)")
        }
        return found
    }
}
