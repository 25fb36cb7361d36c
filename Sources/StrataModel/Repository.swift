import Foundation
import Strata
import StrataJSON

/// Reduces streams, loads and saves aggregates, and keeps their snapshots: the write side of
/// an application, over any `EventStore`.
///
/// ```swift
/// let repository = Repository(store: store, codec: codec, snapshots: MemorySnapshotStore(), policy: .every(100))
/// let account = try await repository.load(Account.self, id: "42")
/// try account.record(.deposited(Deposited(amount: 10)))
/// try await repository.save(account)
/// ```
public struct Repository: Sendable {
    /// The store.
    public let store: any EventStore
    /// How events are decoded and encoded.
    public let codec: EventCodec
    /// Where snapshots are kept (none: every load folds the whole stream).
    public let snapshots: (any SnapshotStore)?
    /// When snapshots are saved on their own.
    public let policy: SnapshotPolicy

    /// Creates a repository.
    public init(store: any EventStore, codec: EventCodec = EventCodec(), snapshots: (any SnapshotStore)? = nil,
                policy: SnapshotPolicy = .manual) {
        self.store = store
        self.codec = codec
        self.snapshots = snapshots
        self.policy = policy
    }

    // MARK: Reducing

    /// Folds a stream with `reducer`, starting from its snapshot when there is a usable one.
    /// - Returns: the state, or `nil` when the stream has no events (never written, deleted).
    public func reduce<State, Event>(stream: String, using reducer: Reducer<State, Event>) async throws -> State? {
        try await fold(stream: stream, name: reducer.name, version: reducer.version, initial: reducer.initial) { state, envelope in
            try reducer.apply(&state, envelope)
        }?.state
    }

    /// Folds every event of `$all` that passes `filter`, in position order.
    /// - Returns: the state, or `nil` when no event matched.
    public func reduce<State, Event>(filter: EventFilter, using reducer: Reducer<State, Event>) async throws -> State? {
        var state = reducer.initial()
        var any = false
        var origin = ReadOrigin.start
        while true {
            let page = try await store.readAllPage(from: origin, direction: .forward, filter: filter, maxCount: 1024)
            for recorded in page.events {
                guard let envelope = try codec.decode(recorded, as: Event.self) else { continue }
                try reducer.apply(&state, envelope)
                any = true
            }
            guard let next = page.next else { break }
            origin = .at(next)
        }
        return any ? state : nil
    }

    /// Folds the events of every stream related to `key` (see ``Relations``), merged in position
    /// order.
    /// - Returns: the state, or `nil` when the related streams have no events.
    public func reduce<State, Event>(relation key: String, in relations: Relations,
                                     using reducer: Reducer<State, Event>) async throws -> State? {
        var events: [Envelope<Event>] = []
        for stream in try await relations.streams(for: key) {
            try await forEachEvent(of: stream, after: 0) { recorded in
                if let envelope = try codec.decode(recorded, as: Event.self) { events.append(envelope) }
            }
        }
        guard !events.isEmpty else { return nil }
        events.sort { $0.position < $1.position }
        var state = reducer.initial()
        try reducer.fold(&state, events)
        return state
    }

    /// Saves a snapshot of `stream` folded with `reducer` now, whatever the policy.
    /// - Returns: the snapshot, or `nil` when the stream has no events or the state is not Codable.
    @discardableResult
    public func snapshot<State, Event>(stream: String, using reducer: Reducer<State, Event>) async throws -> Snapshot? {
        guard let folded = try await fold(stream: stream, name: reducer.name, version: reducer.version,
                                          initial: reducer.initial, apply: { try reducer.apply(&$0, $1) }) else { return nil }
        return try await saveSnapshot(folded, name: reducer.name, version: reducer.version, stream: stream)
    }

    // MARK: Aggregates

    /// Loads an aggregate (snapshot + the events after it). A new id gives a root with the
    /// initial state and `exists == false`.
    public func load<A: Aggregate>(_: A.Type, id: String) async throws -> AggregateRoot<A> {
        let stream = A.stream(for: id)
        guard let folded = try await fold(stream: stream, name: A.name, version: A.version, initial: { A() },
                                          apply: { (state: inout A, envelope: Envelope<A.Event>) in try state.apply(envelope.event) })
        else {
            let info = try await store.streamInfo(stream)
            return AggregateRoot(id: id, state: A(), revision: info.lastRevision, exists: false)
        }
        return AggregateRoot(id: id, state: folded.state, revision: folded.revision, exists: true)
    }

    /// Saves the pending events of one or more aggregates in one atomic multi-stream append,
    /// each checked against the revision it was loaded at, with `extra` appends (relations, say)
    /// in the same transaction.
    /// - Throws: `StrataError.wrongExpectedRevision(stream:expected:actual:)` when
    ///   another writer saved first (nothing is stored; reload and decide again, or use
    ///   ``update(_:id:maxAttempts:_:)``).
    @discardableResult
    public func save(_ roots: [any AggregateChanges], alsoAppending extra: [AppendRequest] = []) async throws -> [AppendResult] {
        var requests: [AppendRequest] = []
        var owners: [any AggregateChanges] = []
        for root in roots {
            if let request = try root.appendRequest(codec: codec) {
                requests.append(request)
                owners.append(root)
            }
        }
        requests += extra
        guard !requests.isEmpty else { return [] }
        let results = try await store.append(requests, condition: nil)
        for (index, owner) in owners.enumerated() { owner.saved(results[index]) }
        return results
    }

    /// Saves one aggregate's pending events.
    @discardableResult
    public func save(_ root: any AggregateChanges, alsoAppending extra: [AppendRequest] = []) async throws -> [AppendResult] {
        try await save([root], alsoAppending: extra)
    }

    /// Loads an aggregate, runs `decide` on it, and saves what it recorded; when another writer
    /// saved first, does it all again on fresh state, at most `maxAttempts` times in all.
    /// - Returns: the saved root.
    @discardableResult
    public func update<A: Aggregate>(_ type: A.Type, id: String, maxAttempts: Int = 5,
                                     _ decide: (AggregateRoot<A>) async throws -> Void) async throws -> AggregateRoot<A> {
        var attempt = 0
        while true {
            attempt += 1
            let root = try await load(type, id: id)
            try await decide(root)
            do {
                try await save(root)
                return root
            } catch StrataError.wrongExpectedRevision(let stream, let expected, let actual) where attempt < maxAttempts {
                _ = (stream, expected, actual)
                continue
            }
        }
    }

    // MARK: The fold

    struct Folded<State> {
        var state: State
        var revision: UInt64
        var firstRevision: UInt64
        var eventsAfterSnapshot: Int
    }

    /// Folds a stream from its snapshot (when usable) and saves a new one when the policy says so.
    func fold<State, Event: EventSet>(stream: String, name: String, version: Int, initial: () -> State,
                                      apply: (inout State, Envelope<Event>) throws -> Void) async throws -> Folded<State>? {
        var state = initial()
        var revision: UInt64 = 0
        var firstRevision: UInt64 = 0
        if let snapshots, let snapshot = try await snapshots.load(reducer: name, stream: stream),
           snapshot.reducerVersion == version,
           let restored = SnapshotCoding.decode(State.self, from: snapshot.state) {
            // The snapshot holds only if the stream still starts where it started then.
            guard let first = try await firstVisibleRevision(of: stream) else { return nil }
            if first == snapshot.firstRevision {
                state = restored
                revision = snapshot.revision
                firstRevision = first
            }
        }
        var folded = 0
        let fromSnapshot = revision
        do {
            try await forEachEvent(of: stream, after: revision) { recorded in
                if firstRevision == 0 { firstRevision = recorded.revision }
                revision = recorded.revision
                folded += 1
                if let envelope = try codec.decode(recorded, as: Event.self) { try apply(&state, envelope) }
            }
        } catch StrataError.streamNotFound {
            return nil
        }
        guard revision > 0 else { return nil }
        let result = Folded(state: state, revision: revision, firstRevision: firstRevision, eventsAfterSnapshot: folded)
        if case .every(let n) = policy, folded >= max(1, n), revision > fromSnapshot {
            try await saveSnapshot(result, name: name, version: version, stream: stream)
        }
        return result
    }

    @discardableResult
    private func saveSnapshot<State>(_ folded: Folded<State>, name: String, version: Int, stream: String) async throws -> Snapshot? {
        guard let snapshots, let data = SnapshotCoding.encode(folded.state) else { return nil }
        let snapshot = Snapshot(reducer: name, stream: stream, reducerVersion: version, revision: folded.revision,
                                firstRevision: folded.firstRevision, state: data)
        try await snapshots.save(snapshot)
        return snapshot
    }

    private func firstVisibleRevision(of stream: String) async throws -> UInt64? {
        do {
            return try await store.readStreamPage(stream, from: .start, direction: .forward, maxCount: 1).events.first?.revision
        } catch StrataError.streamNotFound {
            return nil
        }
    }

    /// Calls `body` for each event of `stream` with a revision above `revision`, in order.
    func forEachEvent(of stream: String, after revision: UInt64, _ body: (RecordedEvent) throws -> Void) async throws {
        var origin = ReadOrigin.at(revision + 1)
        while true {
            let page = try await store.readStreamPage(stream, from: origin, direction: .forward, maxCount: 1024)
            for event in page.events { try body(event) }
            guard let next = page.next else { return }
            origin = .at(next)
        }
    }
}

/// JSON for snapshot states, used when the state type is Codable.
enum SnapshotCoding {
    static func decode<T>(_: T.Type, from data: Data) -> T? {
        guard let decodable = T.self as? any Decodable.Type else { return nil }
        return (try? StrataJSONDecoder().decode(decodable, from: data)) as? T
    }

    static func encode<T>(_ value: T) -> Data? {
        guard let encodable = value as? any Encodable else { return nil }
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try? encoder.encode(encodable)
    }
}
