import Foundation
import Strata

/// Many named collections on one event store: opened on demand, one instance per name, closed
/// after an idle time when nothing subscribes (eventbase's `createEventbaseManager`).
///
/// ```swift
/// let manager = DocumentManager(store: store, options: DocumentManagerOptions(idleTimeout: .seconds(3600)))
/// Task { for await event in await manager.events() { print(event) } }   // .opened("orders"), .closed("orders")
/// let orders = try await manager.collection("orders")
/// try await orders.put("order123", ["item": "Laptop", "quantity": 1])
/// try await manager.closeAll()
/// ```
public actor DocumentManager {
    /// A collection opened or closed.
    public enum Event: Sendable, Hashable {
        /// A collection was opened (first use, or first use after it was closed).
        case opened(String)
        /// A collection was closed (idle, or by `closeAll`).
        case closed(String)
    }

    /// The event store every collection lives on.
    public let store: any EventStore
    /// Idle time, sweep interval and per-collection options.
    public let options: DocumentManagerOptions

    private var open: [String: DocumentStore] = [:]
    /// When each open collection was last seen in use (by a sweep, or when it was opened).
    private var lastActive: [String: ContinuousClock.Instant] = [:]
    private var opening: [String: Task<DocumentStore, any Error>] = [:]
    private var listeners: [Int: AsyncStream<Event>.Continuation] = [:]
    private var nextListener = 0
    private var sweeper: Task<Void, Never>?
    private var closed = false

    /// Creates a manager; nothing is opened until ``collection(_:)``.
    public init(store: any EventStore, options: DocumentManagerOptions = DocumentManagerOptions()) {
        self.store = store
        self.options = options
    }

    /// The collection `name`, opened (and caught up) on first use; the same instance for the
    /// same name while it is open.
    ///
    /// With ``DocumentManagerOptions/maxOpen`` set and reached, the least recently used open
    /// collection without subscriptions is closed first; when every open collection has
    /// subscriptions, this throws ``CollectionLimitReached``.
    /// - Throws: `StrataError.invalidArgument(_:)` for an invalid name (checked before
    ///   anything is opened), ``CollectionLimitReached``, or what opening the collection throws.
    public func collection(_ name: String) async throws -> DocumentStore {
        if closed { throw StrataError.storeClosed(reason: "the document manager was closed") }
        if let existing = open[name], !existing.isClosed {
            lastActive[name] = .now
            return existing
        }
        if let pending = opening[name] { return try await pending.value }
        try DocumentNaming.validateCollection(name)
        try await makeRoom()
        startSweeper()
        let store = self.store
        let collectionOptions = options.collectionOptions(name)
        let task = Task { try await DocumentStore.open(store: store, collection: name, options: collectionOptions) }
        opening[name] = task
        defer { opening[name] = nil }
        let documents = try await task.value
        if closed {
            // closeAll ran while this collection was opening.
            try? await documents.close()
            throw StrataError.storeClosed(reason: "the document manager was closed")
        }
        open[name] = documents
        lastActive[name] = .now
        publish(.opened(name))
        return documents
    }

    /// Whether `name` is open or has documents stored (a stream `<name>-…` exists), found
    /// without opening it.
    public func hasCollection(_ name: String) async throws -> Bool {
        if let existing = open[name], !existing.isClosed { return true }
        if opening[name] != nil { return true }
        return try await !store.listStreamsPage(prefix: DocumentNaming.streamPrefix(collection: name), after: nil, maxCount: 1).isEmpty
    }

    /// Below ``DocumentManagerOptions/maxOpen``: closes the least recently used collection
    /// without subscriptions when the limit is reached.
    private func makeRoom() async throws {
        guard let limit = options.maxOpen, open.count + opening.count >= limit else { return }
        let idle = open.filter { $0.value.subscriptionCount == 0 }
            .min { (lastActive[$0.key] ?? .now) < (lastActive[$1.key] ?? .now) }
        guard let (name, documents) = idle else { throw CollectionLimitReached(limit: limit) }
        open[name] = nil
        lastActive[name] = nil
        try? await documents.close()
        publish(.closed(name))
    }

    /// The names of the open collections, sorted.
    public var openCollections: [String] { open.keys.sorted() }

    /// Opened/closed notifications from now on; the stream ends when the manager closes.
    public func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        nextListener += 1
        let id = nextListener
        listeners[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.removeListener(id) } }
        return stream
    }

    /// Closes every open collection that has no subscription and was not used for
    /// ``DocumentManagerOptions/idleTimeout`` (the sweeper calls this every
    /// ``DocumentManagerOptions/sweepInterval``). Use is noticed at sweeps, so a collection
    /// closes between `idleTimeout` and `idleTimeout + sweepInterval` after its last use.
    /// Returns the names closed.
    @discardableResult
    public func closeIdle() async -> [String] {
        let now = ContinuousClock.now
        var closedNames: [String] = []
        for name in open.keys.sorted() {
            guard let documents = open[name] else { continue }
            if documents.takeUsed() || documents.subscriptionCount > 0 { lastActive[name] = now }
            guard documents.subscriptionCount == 0, now - (lastActive[name] ?? now) >= options.idleTimeout else { continue }
            open[name] = nil
            lastActive[name] = nil
            try? await documents.close()
            closedNames.append(name)
            publish(.closed(name))
        }
        return closedNames
    }

    /// Closes every collection (each reports `.closed`) and stops the sweeper. The event store
    /// stays open. Later calls to ``collection(_:)`` throw `storeClosed`.
    public func closeAll() async throws {
        closed = true
        sweeper?.cancel()
        sweeper = nil
        for task in opening.values { _ = try? await task.value }
        var firstError: (any Error)?
        for name in open.keys.sorted() {
            guard let documents = open.removeValue(forKey: name) else { continue }
            lastActive[name] = nil
            do { try await documents.close() } catch { firstError = firstError ?? error }
            publish(.closed(name))
        }
        for continuation in listeners.values { continuation.finish() }
        listeners = [:]
        if let firstError { throw firstError }
    }

    private func publish(_ event: Event) {
        for continuation in listeners.values { continuation.yield(event) }
    }

    private func removeListener(_ id: Int) { listeners[id] = nil }

    private func startSweeper() {
        guard sweeper == nil else { return }
        let interval = options.sweepInterval
        // Outside the caller's trace: the sweeper outlives the request that opened a collection.
        sweeper = DocumentTracing.outsideTraces {
            Task { [weak self] in
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { return }
                    await self?.closeIdle()
                }
            }
        }
    }
}

/// How a ``DocumentManager`` opens and closes collections.
public struct DocumentManagerOptions: Sendable {
    /// How long a collection without subscriptions stays open after its last use (eventbase's
    /// `keepAliveSeconds`, default one hour).
    public var idleTimeout: Duration
    /// How often idle collections are looked for (default one minute).
    public var sweepInterval: Duration
    /// The options of each collection (the stats stream name can depend on the collection:
    /// eventbase's `getStatsStreamName`).
    public var collectionOptions: @Sendable (String) -> DocumentStoreOptions
    /// The most collections open at once (nil: no limit). Each open collection keeps a view of
    /// its documents in memory.
    public var maxOpen: Int?

    /// Creates options.
    public init(idleTimeout: Duration = .seconds(3600), sweepInterval: Duration = .seconds(60), maxOpen: Int? = nil,
                collectionOptions: @escaping @Sendable (String) -> DocumentStoreOptions = { _ in DocumentStoreOptions() }) {
        self.idleTimeout = idleTimeout
        self.sweepInterval = sweepInterval
        self.maxOpen = maxOpen
        self.collectionOptions = collectionOptions
    }
}

/// ``DocumentManager/collection(_:)`` needed to open a collection while
/// ``DocumentManagerOptions/maxOpen`` collections were open, each with subscriptions.
public struct CollectionLimitReached: Error, Sendable, CustomStringConvertible {
    /// The limit.
    public let limit: Int
    /// What happened and what to do.
    public var description: String {
        "\(limit) document collections are open, each with subscriptions; close a subscription or raise the limit"
    }
}
