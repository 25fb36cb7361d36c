import Foundation
import Strata
import Synchronization

/// An event store in one SQLite database file: WAL mode, group commit, several processes on
/// one file, and checkpoints that can share a transaction with an application's own tables
/// (``SQLiteCheckpointStore``). The schema is described in docs/SQLITE.md.
///
/// ```swift
/// let store = try SQLiteEventStore(path: "./events.db")
/// try await store.append(to: "order-1", events: [EventData(type: "placed", json: #"{"total":42}"#)])
/// for try await event in store.readAll() { print(event.position, event.type) }
/// try await store.close()
/// ```
///
/// Appends from every task of the process go through one writer thread that commits everything
/// queued in one `BEGIN IMMEDIATE` transaction. Other processes may open the same file: writers
/// take SQLite's write lock in turn (waiting up to ``SQLiteConfiguration/busyTimeoutMilliseconds``),
/// and subscriptions notice their appends within ``SQLiteConfiguration/pollIntervalMilliseconds``.
public final class SQLiteEventStore: EventStore {
    /// The database file.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: SQLiteConfiguration
    let writer: SQLiteWriter
    private let readers: SQLiteReaders
    let watcher: ChangeWatcher
    private let notifier = AppendNotifier()
    let closed = Atomic<Bool>(false)

    /// Opens (or creates) the database file at `path`, creating its directory when missing.
    ///
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` for a file written by a
    ///   newer Strata or a file that is not a SQLite database, ``StrataError/invalidArgument(_:)``
    ///   for a configuration out of range, ``StrataError/io(path:operation:reason:)`` when the file
    ///   cannot be opened or stays locked by another process.
    public init(path: String, configuration: SQLiteConfiguration = SQLiteConfiguration()) throws {
        try configuration.validate()
        self.path = path
        self.configuration = configuration
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StrataError.io(path: directory, operation: "create directory", reason: "\(error)")
            }
        }
        let db = try SQLiteError.mapped { try SQLiteConnection(path: path) }
        try SQLiteSchema.prepare(db, configuration: configuration)
        storeIdentity = try SQLiteSchema.identity(db)
        let watcherDB = try SQLiteError.mapped { try SQLiteConnection(path: path) }
        watcherDB.setBusyTimeout(milliseconds: configuration.busyTimeoutMilliseconds)
        readers = SQLiteReaders(path: path, configuration: configuration)
        watcher = ChangeWatcher(db: watcherDB, notifier: notifier)
        writer = SQLiteWriter(db: db, notifier: notifier, maxBatchEvents: configuration.maxBatchEvents)
        _ = try watcher.poll()
        writer.start()
    }

    /// A store released without `close()` still stops its writer thread and closes its connections.
    deinit {
        guard !closed.load(ordering: .acquiring) else { return }
        writer.stopWithoutWaiting()
        readers.close()
        watcher.close()
        notifier.close()
    }

    private func checkOpen() throws {
        if closed.load(ordering: .acquiring) { throw StrataError.storeClosed(reason: "close() was called") }
    }

    // MARK: - Writing

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try AppendValidation.validate(requests, limits: configuration.limits)
        try checkOpen()
        return try await writer.submit(.append(requests, condition: condition))
    }

    public func deleteStream(_ stream: String, expectedRevision: ExpectedRevision, mode: DeleteMode) async throws {
        try Naming.validateStreamName(stream)
        try checkOpen()
        _ = try await writer.submit(.delete(stream: stream, expected: expectedRevision, mode: mode))
    }

    public func setStreamMetadata(_ stream: String, _ metadata: StreamMetadata) async throws {
        try Naming.validateStreamName(stream)
        try StreamMetadataValidation.validate(metadata)
        try checkOpen()
        _ = try await writer.submit(.setMetadata(stream: stream, metadata: metadata))
    }

    // MARK: - Reading

    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        try checkOpen()
        return try readers.readStreamPage(stream, from: origin, direction: direction, maxCount: maxCount)
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try checkOpen()
        return try readers.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        try checkOpen()
        return try readers.streamInfo(stream)
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try checkOpen()
        return try readers.listStreamsPage(prefix: prefix, after: after, maxCount: maxCount)
    }

    public func headPosition() async throws -> UInt64 {
        try checkOpen()
        return try readers.head()
    }

    /// The identity in `strata_meta` (docs/SQLITE.md).
    public func identity() async throws -> StoreIdentity {
        try checkOpen()
        return storeIdentity
    }

    private let storeIdentity: StoreIdentity

    public func stats() async throws -> StoreStats {
        try checkOpen()
        let (head, streams) = try readers.stats()
        var bytes: Int64 = 0
        for suffix in ["", "-wal"] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? NSNumber {
                bytes += size.int64Value
            }
        }
        return StoreStats(headPosition: head, firstPosition: 1, streamCount: streams, bytesOnDisk: bytes, details: [
            "backend": "sqlite",
            "path": path,
            "schema": "v\(SQLiteSchema.version)",
            "synchronous": configuration.synchronous.rawValue,
            "sqlite": SQLiteConnection.libraryVersion,
            // Group commit at work: operations per transaction since this store opened.
            "transactions": String(writer.transactions.load(ordering: .relaxed)),
            "operations": String(writer.operationsCommitted.load(ordering: .relaxed)),
        ])
    }

    /// Returns once the head passed `position`. Appends of this process wake it at once; appends
    /// of other processes are noticed by polling `PRAGMA data_version` every
    /// ``SQLiteConfiguration/pollIntervalMilliseconds``.
    public func waitForAppends(after position: UInt64) async throws {
        let interval = Duration.milliseconds(configuration.pollIntervalMilliseconds)
        while !closed.load(ordering: .acquiring) {
            if try watcher.poll() > position { return }
            try await notifier.wait(after: position, timeout: interval)
        }
    }

    // MARK: - Closing

    /// Commits what is queued, then closes every connection. Later calls throw
    /// ``StrataError/storeClosed(reason:)``; waiting subscriptions wake and end with it.
    public func close() async throws {
        if closed.exchange(true, ordering: .acquiringAndReleasing) { return }
        defer {
            readers.close()
            watcher.close()
            notifier.close()
        }
        try await writer.close()
    }
}
