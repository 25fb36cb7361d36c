import Foundation
import Logging
import PostgresNIO
import Strata

/// An event store in a PostgreSQL schema, for several processes on several machines, with a
/// gap-free `$all`: positions are given in commit order (a counter row locked by the last
/// statement of each append transaction), so a reader never sees position p + 1 while p can
/// still appear. Concurrent appends of one process share transactions (group commit);
/// subscriptions learn of appends from any process through LISTEN/NOTIFY, with polling as a
/// fallback. docs/POSTGRES.md describes the design, the schema and its migrations.
///
/// ```swift
/// let store = try await PostgresEventStore(url: "postgres://app:secret@127.0.0.1:5432/app?schema=orders")
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: #"{"total":42}"#)])
/// for try await event in store.readAll() { print(event.position, event.type) }
/// try await store.close()
/// ```
public final class PostgresEventStore: EventStore {
    let core: PostgresStoreCore
    let writer: AppendWriter
    let watcher: AppendWatcher
    private let clientTask: Task<Void, Never>

    /// Opens the store at a `postgres://` URL (see ``PostgresConfiguration/init(url:)``),
    /// creating or migrating its schema.
    ///
    /// - Throws: ``StrataError/io(path:operation:reason:)`` when the server cannot be reached,
    ///   refuses the credentials or the database; ``StrataError/unsupportedFormat(path:found:supported:)``
    ///   for a schema written by a newer Strata; ``StrataError/invalidArgument(_:)`` for a bad URL option.
    public convenience init(url: String) async throws {
        try await self.init(configuration: PostgresConfiguration(url: url))
    }

    /// Opens the store described by `configuration`, creating or migrating its schema.
    ///
    /// - Throws: the errors of ``init(url:)``.
    public convenience init(configuration: PostgresConfiguration) async throws {
        try await self.init(configuration: configuration, hooks: AppendHooks())
    }

    init(configuration: PostgresConfiguration, hooks: AppendHooks) async throws {
        try configuration.validate()
        let logger = configuration.logger
        let connector = PostgresConnector(configuration: configuration)
        let bootstrap = try await connector.connect(logger: logger)
        let schema = PostgresSchema(name: configuration.schema)
        let head: UInt64
        do {
            try await schema.migrate(on: bootstrap, logger: logger, displayURL: configuration.displayURL)
            let rows = try await bootstrap.rows(PostgresQuery(unsafeSQL: SchemaStatements(schema: schema).head), logger: logger)
            head = UInt64(try rows[0].decode(Int64.self))
            let ids = try await bootstrap.rows(PostgresQuery(unsafeSQL: "SELECT value FROM \(schema.table("meta")) WHERE key = 'store_id'"), logger: logger)
            guard let id = ids.first else {
                throw StrataError.unsupportedFormat(path: configuration.displayURL, found: "a schema without a store_id", supported: "schema version \(PostgresSchema.currentVersion)")
            }
            storeIdentity = try StoreIdentity(try id.decode(String.self))
        } catch {
            try? await bootstrap.close()
            throw PostgresFailure.strataError(error, url: configuration.displayURL, operation: "create or migrate the schema")
        }
        let client = PostgresClient(configuration: connector.clientConfiguration(), backgroundLogger: logger)
        clientTask = Task { await client.run() }
        core = PostgresStoreCore(configuration: configuration, client: client)
        watcher = AppendWatcher(core: core, head: head)
        watcher.start(with: bootstrap)
        writer = AppendWriter(core: core, notifier: watcher.notifier, hooks: hooks)
        writer.start()
    }

    /// The store's configuration.
    public var configuration: PostgresConfiguration { core.configuration }

    /// The schema version this build creates and reads (docs/POSTGRES.md, "Schema").
    public static var schemaVersion: Int { PostgresSchema.currentVersion }

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: core.configuration.limits)
        try core.checkOpen()
        return try await writer.submit(requests, condition: condition)
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        let core = self.core
        try await core.withConnection("delete a stream", retrying: false) { connection in
            try await PostgresStoreCore.inTransaction(connection, logger: core.logger) {
                let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.lockStream, binds: try binds(stream)), logger: core.logger)
                let row = try StreamRow.decode(rows[0])
                try row.writeState.check(expectedRevision, stream: stream)
                switch mode {
                case .soft:
                    guard row.exists else { throw StrataError.streamNotFound(stream) }
                    try await connection.run(PostgresQuery(unsafeSQL: core.sql.softDelete, binds: try binds(stream)), logger: core.logger)
                case .tombstone:
                    try await connection.run(PostgresQuery(unsafeSQL: core.sql.tombstone, binds: try binds(stream)), logger: core.logger)
                }
            }
        }
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        let core = self.core
        let updated = try await core.withConnection("set stream metadata") { connection in
            var bindings = PostgresBindings()
            bindings.append(stream)
            bindings.append(metadata.maxCount.map { Int64($0) })
            bindings.append(metadata.maxAge)
            bindings.append(metadata.truncateBefore.map { Int64(bitPattern: $0) })
            bindings.append(metadata.custom.map { ByteBuffer(bytes: $0) })
            return try await connection.rows(PostgresQuery(unsafeSQL: core.sql.setMetadata, binds: bindings), logger: core.logger).count
        }
        if updated == 0 { throw StrataError.streamTombstoned(stream) }
    }

    public func headPosition() async throws -> UInt64 {
        let core = self.core
        return try await core.withConnection("read the head") { connection in
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.head), logger: core.logger)
            return UInt64(try rows[0].decode(Int64.self))
        }
    }

    /// The identity in the schema's `meta` table (docs/POSTGRES.md).
    public func identity() async throws -> StoreIdentity {
        try core.checkOpen()
        return storeIdentity
    }

    private let storeIdentity: StoreIdentity

    public func stats() async throws -> StoreStats {
        let core = self.core
        return try await core.withConnection("read stats") { connection in
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.stats, binds: try binds(core.schema.name)), logger: core.logger)
            let (head, streams, bytes, version) = try rows[0].decode((Int64, Int64, Int64, String).self)
            return StoreStats(headPosition: UInt64(head), firstPosition: 1, streamCount: Int(streams), bytesOnDisk: bytes,
                              details: ["backend": "postgres", "url": core.url, "schemaVersion": String(PostgresSchema.currentVersion),
                                        "serverVersion": version])
        }
    }

    public func waitForAppends(after position: UInt64) async throws {
        try await watcher.waitForAppends(after: position)
    }

    /// Finishes queued appends, stops the listener and closes every connection. Later calls
    /// throw ``StrataError/storeClosed(reason:)``.
    public func close() async throws {
        guard core.markClosed() else { return }
        await writer.close()
        await watcher.close()
        clientTask.cancel()
        await clientTask.value
    }
}
