import Foundation
import Logging
import Strata
import StrataJSON

/// Where persistent subscription groups are defined: named records (the definition's JSON)
/// beside the checkpoints, so that every server instance over the same checkpoint store sees
/// the same groups. The checkpoint stores offer it (docs/CONSUMERS.md, "Persistent subscriptions").
public protocol SubscriptionDefinitionStore: Sendable {
    /// Every record, by key.
    func definitions() async throws -> [String: Data]
    /// Saves a record; nil removes it.
    func saveDefinition(_ key: String, _ record: Data?) async throws
}

/// A group's definition as recorded (format version 1, docs/CONSUMERS.md).
public struct PersistentSubscriptionDefinition: Sendable, Hashable, Codable {
    /// The format version this build writes and reads.
    public static let currentVersion = 1
    /// The record's version.
    public var version: Int
    /// The stream read, or `$all`.
    public var stream: String
    /// The group.
    public var group: String
    /// The filter of a `$all` group.
    public var filter: EventFilter?
    /// The settings.
    public var settings: PersistentSubscriptionSettings

    /// Creates a definition.
    public init(name: PersistentSubscriptionName, filter: EventFilter? = nil, settings: PersistentSubscriptionSettings) {
        version = Self.currentVersion
        stream = name.stream
        group = name.group
        self.filter = name.stream == Naming.allStream ? filter : nil
        self.settings = settings
    }

    /// The group's name.
    public var name: PersistentSubscriptionName { PersistentSubscriptionName(stream: stream, group: group) }

    /// What the group reads.
    public var source: PersistentSubscriptionSource { stream == Naming.allStream ? .all(filter ?? EventFilter()) : .stream(stream) }
}

/// The persistent subscription groups of a store: created, updated and deleted here, recorded
/// in the checkpoint store, and run by one instance at a time (docs/CONSUMERS.md, "Persistent
/// subscriptions").
///
/// Every instance (a `strata serve`, an application) over the same store and checkpoint store
/// runs a `PersistentSubscriptions` with its own `instance` name. Each group is run by the
/// instance holding its lease `persistent-subscriptions/<stream>::<group>`; asked for a group
/// another instance runs, ``subscription(_:)`` throws
/// ``PersistentSubscriptionError/ownedElsewhere(_:owner:)`` with that instance's name (a
/// server advertises its URL as its name, so that clients can be sent there). When the
/// instance dies its leases lapse and another takes the groups over from their checkpoints.
public final class PersistentSubscriptions: Sendable {
    /// The store read.
    public let store: any EventStore
    /// This instance's name (a server: its advertised URL).
    public let instance: String
    /// How long a group's lease lasts unless renewed (renewed at a third of it).
    public let leaseDuration: Duration
    /// Where failures of the background round (taking and renewing leases) are reported.
    public let logger: Logger?

    private let checkpoints: any CheckpointStore
    private let leases: any LeaseStore
    private let records: any SubscriptionDefinitionStore
    private let running = LockedBox<[PersistentSubscriptionName: (definition: PersistentSubscriptionDefinition, runner: PersistentSubscription)]>([:])
    private let loop = BackgroundTask()
    private let turn = AsyncSerialGate()

    /// Creates the registry; ``start()`` begins taking groups.
    public init(store: any EventStore, checkpoints: some CheckpointStore & LeaseStore & SubscriptionDefinitionStore,
                instance: String, leaseDuration: Duration = .seconds(10), logger: Logger? = nil) {
        self.logger = logger
        self.store = store
        self.checkpoints = checkpoints
        self.leases = checkpoints
        self.records = checkpoints
        self.instance = instance
        self.leaseDuration = max(leaseDuration, .milliseconds(100))
    }

    private static func leaseName(_ name: PersistentSubscriptionName) -> String { "persistent-subscriptions/\(name)" }

    // MARK: Lifecycle

    /// Starts taking and renewing the leases of the groups, every third of the lease.
    public func start() {
        loop.start { [self] in
            while !Task.isCancelled {
                do { try await refresh() } catch {
                    logger?.warning("persistent subscriptions: a round of taking and renewing leases failed", metadata: [
                        "instance": .string(instance), "error": .string("\(error)"),
                    ])
                }
                try? await Task.sleep(for: leaseDuration / 3)
            }
        }
    }

    /// Stops: saves every running group's checkpoint and releases its lease, so that another
    /// instance takes it over at once.
    public func stop() async {
        await loop.stop()
        try? await turn.run { [self] in
            for (name, entry) in running.withLock({ $0 }) {
                try? await entry.runner.saveCheckpoint()
                try? await leases.release(Self.leaseName(name), owner: instance)
            }
            running.withLock { $0 = [:] }
        }
    }

    /// Takes the leases of the groups nobody runs, renews its own, lets go of deleted groups
    /// and restarts groups whose settings changed.
    public func refresh() async throws {
        try await turn.run { [self] in
            let definitions = try await loadDefinitions()
            for (name, entry) in running.withLock({ $0 }) {
                guard let definition = definitions[name] else {
                    running.withLock { $0[name] = nil }
                    try await leases.release(Self.leaseName(name), owner: instance)
                    continue
                }
                guard try await leases.acquire(Self.leaseName(name), owner: instance, for: leaseDuration) != nil else {
                    running.withLock { $0[name] = nil }   // lapsed, and taken by another instance
                    continue
                }
                if definition != entry.definition {
                    try await entry.runner.saveCheckpoint()
                    running.withLock { $0[name] = nil }
                }
            }
            for (name, definition) in definitions where running.withLock({ $0[name] == nil }) {
                guard try await leases.acquire(Self.leaseName(name), owner: instance, for: leaseDuration) != nil else { continue }
                let runner = PersistentSubscription(name: name, source: definition.source, settings: definition.settings,
                                                    store: store, checkpoints: checkpoints)
                try await runner.start()
                running.withLock { $0[name] = (definition, runner) }
            }
        }
    }

    // MARK: Definitions

    /// Creates a group.
    /// - Throws: ``PersistentSubscriptionError/alreadyExists(_:)``, or
    ///   ``StrataError/invalidArgument(_:)`` for bad settings, names or a filter on a stream group.
    public func create(_ name: PersistentSubscriptionName, filter: EventFilter? = nil, settings: PersistentSubscriptionSettings) async throws {
        try Self.validate(name, filter: filter, settings: settings)
        try await turn.run { [self] in
            if try await loadDefinitions()[name] != nil { throw PersistentSubscriptionError.alreadyExists(name) }
            try await save(PersistentSubscriptionDefinition(name: name, filter: filter, settings: settings))
        }
        try await refresh()
    }

    /// Changes a group's settings (and filter); the instance running it restarts it from its
    /// checkpoint (events in flight are handed out again).
    /// - Throws: ``PersistentSubscriptionError/notFound(_:)``, or ``StrataError/invalidArgument(_:)``.
    public func update(_ name: PersistentSubscriptionName, filter: EventFilter? = nil, settings: PersistentSubscriptionSettings) async throws {
        try Self.validate(name, filter: filter, settings: settings)
        try await turn.run { [self] in
            guard try await loadDefinitions()[name] != nil else { throw PersistentSubscriptionError.notFound(name) }
            try await save(PersistentSubscriptionDefinition(name: name, filter: filter, settings: settings))
        }
        try await refresh()
    }

    /// Deletes a group with its checkpoint and parked events.
    /// - Throws: ``PersistentSubscriptionError/notFound(_:)``.
    public func delete(_ name: PersistentSubscriptionName) async throws {
        try await turn.run { [self] in
            guard try await loadDefinitions()[name] != nil else { throw PersistentSubscriptionError.notFound(name) }
            try await records.saveDefinition(name.description, nil)
            running.withLock { $0[name] = nil }
            try await leases.release(Self.leaseName(name), owner: instance)
            try await checkpoints.resetCheckpoint(for: name.description, to: nil)
            while true {
                let page = try await checkpoints.parked(consumer: name.description, after: nil, limit: 100)
                if page.isEmpty { break }
                for entry in page { try await checkpoints.unpark(consumer: name.description, position: entry.position) }
            }
        }
    }

    /// Every group, sorted by name.
    public func list() async throws -> [PersistentSubscriptionDefinition] {
        try await loadDefinitions().values.sorted { $0.name < $1.name }
    }

    /// The running group `name`, taking it when no instance runs it.
    /// - Throws: ``PersistentSubscriptionError/notFound(_:)``, or
    ///   ``PersistentSubscriptionError/ownedElsewhere(_:owner:)`` naming the instance that runs it.
    public func subscription(_ name: PersistentSubscriptionName) async throws -> PersistentSubscription {
        if let runner = running.withLock({ $0[name]?.runner }) { return runner }
        // Twice: a lease that lapses between taking it and naming its holder is free the second time.
        var holder: Lease?
        for _ in 0 ..< 2 {
            try await refresh()
            if let runner = running.withLock({ $0[name]?.runner }) { return runner }
            guard try await loadDefinitions()[name] != nil else { throw PersistentSubscriptionError.notFound(name) }
            holder = try await leases.leases(prefix: Self.leaseName(name)).first { $0.name == Self.leaseName(name) }
            if holder != nil { break }
        }
        throw PersistentSubscriptionError.ownedElsewhere(name, owner: holder?.owner ?? "another instance")
    }

    /// A page of the group's parked events, oldest first: those at positions after `after`, at
    /// most `limit`. They are read from the checkpoint store, so any instance answers, whichever runs the group.
    /// - Throws: ``PersistentSubscriptionError/notFound(_:)``.
    public func parked(_ name: PersistentSubscriptionName, after: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        guard try await loadDefinitions()[name] != nil else { throw PersistentSubscriptionError.notFound(name) }
        return try await checkpoints.parked(consumer: name.description, after: after, limit: limit)
    }

    /// The groups this instance runs now.
    public func runningHere() -> [PersistentSubscriptionName] { running.withLock { $0.keys.sorted() } }

    // MARK: Inside

    private static func validate(_ name: PersistentSubscriptionName, filter: EventFilter?, settings: PersistentSubscriptionSettings) throws {
        try settings.validate()
        guard !name.group.isEmpty, name.group.utf8.count <= 255, !name.group.contains("::") else {
            throw StrataError.invalidArgument("a persistent subscription's group name must be 1–255 bytes without \"::\"")
        }
        if name.stream != Naming.allStream {
            try Naming.validateStreamName(name.stream)
            if filter != nil { throw StrataError.invalidArgument("only a $all persistent subscription takes a filter") }
        }
    }

    private func save(_ definition: PersistentSubscriptionDefinition) async throws {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await records.saveDefinition(definition.name.description, try encoder.encode(definition))
    }

    private func loadDefinitions() async throws -> [PersistentSubscriptionName: PersistentSubscriptionDefinition] {
        var result: [PersistentSubscriptionName: PersistentSubscriptionDefinition] = [:]
        for (key, data) in try await records.definitions() {
            guard let definition = try? StrataJSONDecoder().decode(PersistentSubscriptionDefinition.self, from: data) else {
                throw StrataError.corruption(path: key, offset: 0, reason: "not a persistent subscription definition")
            }
            guard definition.version == PersistentSubscriptionDefinition.currentVersion else {
                throw StrataError.unsupportedFormat(path: key, found: "definition v\(definition.version)",
                                                    supported: "definition v\(PersistentSubscriptionDefinition.currentVersion)")
            }
            result[definition.name] = definition
        }
        return result
    }
}
