import Foundation
import Strata
import StrataConsumers

/// What a projector knows about an event when it hands it to a handler.
public struct ProjectionStatus: Sendable, Hashable {
    /// The event is being replayed (a rebuild, a sync), not seen for the first time.
    public var hydrated: Bool
    /// Its stream already has a later event of the same type.
    public var outdated: Bool

    /// Creates a status.
    public init(hydrated: Bool, outdated: Bool) {
        self.hydrated = hydrated
        self.outdated = outdated
    }
}

/// What a store holds about one event: ``Projector/eventStatus(of:)``.
public struct EventStatus: Sendable, Hashable {
    /// The store holds the event: its stream has an event with its id at its revision.
    public var exists: Bool
    /// Its stream already has a later event of the same type.
    public var outdated: Bool

    /// Creates a status.
    public init(exists: Bool, outdated: Bool) {
        self.exists = exists
        self.outdated = outdated
    }
}

/// Event handlers that build read models and trigger side effects, with valkyr's three kinds:
///
/// | kind | runs for |
/// | --- | --- |
/// | `once` | new events that are not outdated (never on replay: side effects such as emails) |
/// | `on` | any event that is not outdated, new or replayed (read models) |
/// | `all` | every event |
///
/// An event is *outdated* when its stream already holds a later event of the same type. One
/// stream's events are handled strictly in order, one at a time; different streams run
/// concurrently. Run a projector live with ``consumer(name:checkpoints:options:)`` (events are
/// new: `hydrated == false`) and rebuild a read model with ``replay(filter:batchSize:)`` (`hydrated ==
/// true`, so `once` handlers never run twice).
public final class Projector: Sendable {
    /// A handler of one event.
    public typealias Handler = @Sendable (RecordedEvent, ProjectionStatus) async throws -> Void

    enum Kind: Sendable { case once, on, all }

    struct Registration: Sendable {
        var kind: Kind
        var handler: Handler
        var onSuccess: (@Sendable (RecordedEvent) async -> Void)?
        var onFailure: (@Sendable (RecordedEvent, any Error) async -> Void)?
        var id = 0
    }

    /// The store the projector reads (for outdated checks, replays and consumers).
    public let store: any EventStore
    /// How typed handlers decode events.
    public let codec: EventCodec
    /// How many streams are handled at once.
    public let concurrency: Int

    private let registrations = LockedRegistrations()

    /// Creates a projector.
    public init(store: any EventStore, codec: EventCodec = EventCodec(), concurrency: Int = 8) {
        self.store = store
        self.codec = codec
        self.concurrency = max(1, concurrency)
    }

    // MARK: Registering

    /// Runs `handler` for new events of `type` that are not outdated. When it throws, `onFailure`
    /// runs (the stored event is kept, and the projector goes on); when it returns, `onSuccess`.
    public func once(_ type: String, handler: @escaping @Sendable (RecordedEvent) async throws -> Void,
                     onSuccess: (@Sendable (RecordedEvent) async -> Void)? = nil,
                     onFailure: (@Sendable (RecordedEvent, any Error) async -> Void)? = nil) {
        registrations.add(type, Registration(kind: .once, handler: { event, _ in try await handler(event) },
                                             onSuccess: onSuccess, onFailure: onFailure))
    }

    /// Runs `handler` for events of `type` that are not outdated, new or replayed. An error
    /// goes to the consumer running the projector (retried, then parked).
    public func on(_ type: String, handler: @escaping Handler) {
        registrations.add(type, Registration(kind: .on, handler: handler))
    }

    /// Runs `handler` for every event of `type`.
    public func all(_ type: String, handler: @escaping Handler) {
        registrations.add(type, Registration(kind: .all, handler: handler))
    }

    /// `once` for a typed event.
    public func once<E: DomainEvent>(_: E.Type, handler: @escaping @Sendable (Envelope<E>) async throws -> Void,
                                     onSuccess: (@Sendable (Envelope<E>) async -> Void)? = nil,
                                     onFailure: (@Sendable (Envelope<E>, any Error) async -> Void)? = nil) {
        let codec = codec
        let decoded: Handler = { event, _ in
            if let envelope = try codec.decode(event, as: E.self) { try await handler(envelope) }
        }
        var success: (@Sendable (RecordedEvent) async -> Void)?
        if let onSuccess {
            success = { event in
                if let envelope = try? codec.decode(event, as: E.self) { await onSuccess(envelope) }
            }
        }
        var failure: (@Sendable (RecordedEvent, any Error) async -> Void)?
        if let onFailure {
            failure = { event, error in
                if let envelope = try? codec.decode(event, as: E.self) { await onFailure(envelope, error) }
            }
        }
        registrations.add(E.eventType, Registration(kind: .once, handler: decoded, onSuccess: success, onFailure: failure))
    }

    /// `on` for a typed event.
    public func on<E: DomainEvent>(_: E.Type, handler: @escaping @Sendable (Envelope<E>, ProjectionStatus) async throws -> Void) {
        let codec = codec
        on(E.eventType) { event, status in
            if let envelope = try codec.decode(event, as: E.self) { try await handler(envelope, status) }
        }
    }

    /// `all` for a typed event.
    public func all<E: DomainEvent>(_: E.Type, handler: @escaping @Sendable (Envelope<E>, ProjectionStatus) async throws -> Void) {
        let codec = codec
        all(E.eventType) { event, status in
            if let envelope = try codec.decode(event, as: E.self) { try await handler(envelope, status) }
        }
    }

    /// The event types with handlers.
    public var eventTypes: Set<String> { registrations.types }

    // MARK: Handling

    /// Handles a batch in position order per stream, streams concurrently. `once` handlers run
    /// at most once per event in this process, even when a failing batch is retried.
    public func handle(_ events: [RecordedEvent], hydrated: Bool) async throws {
        let relevant = events.filter { registrations.types.contains($0.type) }
        guard !relevant.isEmpty else { return }
        var byStream: [String: [RecordedEvent]] = [:]
        var order: [String] = []
        for event in relevant {
            if byStream[event.stream] == nil { order.append(event.stream) }
            byStream[event.stream, default: []].append(event)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for stream in order {
                if running == concurrency { try await group.next(); running -= 1 }
                let events = byStream[stream]!
                group.addTask { try await self.handle(stream: stream, events, hydrated: hydrated) }
                running += 1
            }
            try await group.waitForAll()
        }
        if !hydrated, let last = events.last { onceDone.forget(through: last.position) }
    }

    /// What the store says about `event` now (valkyr's `getEventStatus`): whether it is stored
    /// (its stream holds an event with its id at its revision) and whether it is outdated (its
    /// stream holds a later event of the same type). The projector uses the same outdated test
    /// when it hands events to handlers; call this from an `all` handler, or before acting on an
    /// event received from elsewhere (a sync, a queue).
    ///
    /// ```swift
    /// let status = try await projector.eventStatus(of: event)
    /// if status.exists && !status.outdated { try await updateReadModel(event) }
    /// ```
    ///
    /// - Throws: the store's errors (a stream that does not exist is not an error: neither flag is set).
    public func eventStatus(of event: RecordedEvent) async throws -> EventStatus {
        let stored: RecordedEvent?
        do {
            stored = try await store.readStreamPage(event.stream, from: .at(event.revision), direction: .forward, maxCount: 1).events.first
        } catch StrataError.streamNotFound {
            return EventStatus(exists: false, outdated: false)
        }
        let latest = try await latestRevisions(of: event.stream, from: event.revision)
        return EventStatus(exists: stored?.id == event.id && stored?.revision == event.revision,
                           outdated: (latest[event.type] ?? 0) > event.revision)
    }

    private let onceDone = OnceLedger()

    private func handle(stream: String, _ events: [RecordedEvent], hydrated: Bool) async throws {
        let latest = try await latestRevisions(of: stream, from: events[0].revision)
        for event in events {
            let status = ProjectionStatus(hydrated: hydrated, outdated: (latest[event.type] ?? 0) > event.revision)
            for registration in registrations.handlers(for: event.type) {
                switch registration.kind {
                case .once:
                    guard !status.hydrated, !status.outdated, onceDone.claim(event.position, registration: registration) else { continue }
                    do {
                        try await registration.handler(event, status)
                        await registration.onSuccess?(event)
                    } catch {
                        await registration.onFailure?(event, error)
                    }
                case .on:
                    guard !status.outdated else { continue }
                    try await registration.handler(event, status)
                case .all:
                    try await registration.handler(event, status)
                }
            }
        }
    }

    /// For each event type, the last revision of `stream` that holds it, from `revision` on.
    ///
    /// What earlier batches learned is kept per stream (events never change, and a stream only
    /// grows), so each stream is read once in all rather than once per batch: a replay stays
    /// linear in the size of the log.
    private func latestRevisions(of stream: String, from revision: UInt64) async throws -> [String: UInt64] {
        let info = try await store.streamInfo(stream)
        var known = latestByStream.get(stream) ?? StreamTypes(scannedThrough: revision - 1, latest: [:])
        if known.scannedThrough < revision - 1 { known = StreamTypes(scannedThrough: revision - 1, latest: [:]) }
        if info.lastRevision > known.scannedThrough {
            var origin = ReadOrigin.at(known.scannedThrough + 1)
            do {
                while true {
                    let page = try await store.readStreamPage(stream, from: origin, direction: .forward, maxCount: 1024)
                    for event in page.events {
                        known.latest[event.type] = event.revision
                        known.scannedThrough = event.revision
                    }
                    guard let next = page.next else { break }
                    origin = .at(next)
                }
            } catch StrataError.streamNotFound {
                return [:]
            }
            known.scannedThrough = max(known.scannedThrough, info.lastRevision)
            latestByStream.set(stream, known)
        }
        return known.latest
    }

    private let latestByStream = StreamTypeCache()

    // MARK: Running

    /// A checkpointed consumer that feeds new events to this projector (`hydrated == false`).
    /// Its filter defaults to the registered event types.
    public func consumer<C: CheckpointStore>(name: String, checkpoints: C,
                                             options: ConsumerOptions? = nil) -> CheckpointedConsumer<C> {
        var options = options ?? ConsumerOptions()
        if options.filter.isEmpty { options.filter = EventFilter(eventTypes: eventTypes) }
        return CheckpointedConsumer(name: name, store: store, checkpoints: checkpoints, options: options) { [self] events, _ in
            try await handle(events, hydrated: false)
        }
    }

    /// Replays stored events (default: all of the registered types) with `hydrated == true`, for
    /// rebuilding read models; `once` handlers do not run.
    /// - Returns: how many events were handed to the projector.
    @discardableResult
    public func replay(filter: EventFilter? = nil, batchSize: Int = 1024) async throws -> Int {
        let filter = filter ?? EventFilter(eventTypes: eventTypes)
        var origin = ReadOrigin.start
        var count = 0
        while true {
            let page = try await store.readAllPage(from: origin, direction: .forward, filter: filter, maxCount: batchSize)
            try await handle(page.events, hydrated: true)
            count += page.events.count
            guard let next = page.next else { return count }
            origin = .at(next)
        }
    }
}

/// What a projector knows of a stream: through which revision it has read it, and the last
/// revision of each event type seen.
struct StreamTypes: Sendable {
    var scannedThrough: UInt64
    var latest: [String: UInt64]
}

/// Per-stream ``StreamTypes``, bounded: cleared when it holds too many streams.
final class StreamTypeCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: StreamTypes] = [:]
    static let limit = 100_000

    func get(_ stream: String) -> StreamTypes? { lock.withLock { entries[stream] } }

    func set(_ stream: String, _ value: StreamTypes) {
        lock.withLock {
            if entries.count >= Self.limit, entries[stream] == nil { entries.removeAll(keepingCapacity: true) }
            entries[stream] = value
        }
    }
}

/// The registrations, by event type.
final class LockedRegistrations: @unchecked Sendable {
    private let lock = NSLock()
    private var byType: [String: [Projector.Registration]] = [:]

    private var count = 0

    func add(_ type: String, _ registration: Projector.Registration) {
        lock.withLock {
            var registration = registration
            count += 1
            registration.id = count
            byType[type, default: []].append(registration)
        }
    }

    func handlers(for type: String) -> [Projector.Registration] { lock.withLock { byType[type] ?? [] } }

    var types: Set<String> { lock.withLock { Set(byType.keys) } }
}

/// Which `once` handlers already ran for positions of the current batch, so that a batch retried
/// after an `on` failure does not run them again.
final class OnceLedger: @unchecked Sendable {
    private let lock = NSLock()
    private struct Key: Hashable { var position: UInt64; var registration: Int }
    private var claimed: Set<Key> = []
    private var positions: [UInt64: [Key]] = [:]

    func claim(_ position: UInt64, registration: Projector.Registration) -> Bool {
        let key = Key(position: position, registration: registration.id)
        return lock.withLock {
            guard claimed.insert(key).inserted else { return false }
            positions[position, default: []].append(key)
            return true
        }
    }

    func forget(through position: UInt64) {
        lock.withLock {
            for (p, keys) in positions where p <= position {
                for key in keys { claimed.remove(key) }
                positions[p] = nil
            }
        }
    }
}
