import Foundation
import Strata
import StrataStorage

/// A property-test run found the backend and the model disagreeing.
public struct PropertyMismatch: Error, CustomStringConvertible {
    /// The seed that replays the run.
    public let seed: UInt64
    /// The operations per run.
    public let operations: Int
    /// The 0-based index of the operation that disagreed (`operations` for the final comparison).
    public let index: Int
    /// The operation and both outcomes.
    public let details: String

    public var description: String {
        """
        property test mismatch: seed \(seed), operation \(index) of \(operations)
            \(details)
            replay: STRATA_PROPERTY_SEEDS=\(seed) STRATA_PROPERTY_OPS=\(operations) swift test --disable-xctest --filter <the backend's property test>
        """
    }
}

extension ConformanceSuite {
    /// Applies `operations` random operations, drawn from `seed`, to a fresh store from
    /// `harness` and to a fresh ``InMemoryEventStore`` (the model), and compares every result
    /// and every error. Throws ``PropertyMismatch`` at the first difference; the message holds
    /// the seed, the operation and both outcomes, and is also printed.
    ///
    /// The operations: appends of 1–5 events to one of eight streams with expected revisions
    /// that are mostly right and sometimes wrong, retries and reuses of earlier ids,
    /// multi-stream and conditional appends, a few invalid events and names, soft deletes,
    /// rare tombstones, `maxCount`/`truncateBefore` metadata (never `maxAge`, which depends on
    /// time), stream and `$all` reads with random origins, directions, limits and filters,
    /// stream info, listings and stats. After the last operation every stream, listing and
    /// the whole of `$all` are compared once more.
    public static func runPropertyTest(seed: UInt64, operations: Int, harness: some ConformanceHarness) async throws {
        let backend = try await harness.makeStore()
        let model = InMemoryEventStore()
        do {
            var run = PropertyRun(seed: seed, operations: operations, model: model, backend: backend)
            try await run.run()
        } catch {
            if error is PropertyMismatch { print(error) }
            try? await backend.close()
            await harness.cleanUp()
            throw error
        }
        try? await backend.close()
        await harness.cleanUp()
    }
}

/// One seeded run: draws operations from the model's state, applies each to both stores.
struct PropertyRun {
    let seed: UInt64
    let operations: Int
    let model: InMemoryEventStore
    let backend: any EventStore
    private var generator: PropertyGenerator

    init(seed: UInt64, operations: Int, model: InMemoryEventStore, backend: any EventStore) {
        self.seed = seed
        self.operations = operations
        self.model = model
        self.backend = backend
        self.generator = PropertyGenerator(seed: seed)
    }

    mutating func run() async throws {
        for index in 0..<operations {
            let operation = try await generator.next(model: model)
            try await compare(operation, index: index)
            // Memory stores never suspend: let the other tests on the shared pool run.
            await Task.yield()
        }
        // The end state, in full.
        var finalOperations: [PropertyOperation] = [.stats, .listStreams(prefix: ""), .readAll(.start, .forward, EventFilter(), limit: nil)]
        for stream in PropertyGenerator.streams {
            finalOperations.append(.streamInfo(stream))
            finalOperations.append(.readStream(stream, .start, .forward, limit: nil))
        }
        for operation in finalOperations { try await compare(operation, index: operations) }
    }

    private func compare(_ operation: PropertyOperation, index: Int) async throws {
        let expected = await operation.apply(to: model)
        let actual = await operation.apply(to: backend)
        if expected != actual {
            throw PropertyMismatch(seed: seed, operations: operations, index: index,
                                   details: "operation: \(operation)\n    " + PropertyOutcome.difference(model: expected, backend: actual))
        }
    }
}

/// Draws operations. It looks at the model's state only, so a seed always gives the same run.
struct PropertyGenerator {
    static let streams = ["order-1", "order-2", "order-10", "cart-1", "cart-2", "user-a", "user-b", "ünï-1"]
    static let prefixes = ["", "order-", "order-1", "cart", "user-", "ü", "zzz"]
    static let types = ["created", "updated", "shipped", "noted"]
    static let tags = ["a", "b", "c"]
    static let invalidStreams = ["", "$reserved", "new\nline", String(repeating: "x", count: 256)]

    private var rng: SplitMix64
    /// Recent appends, retried now and then (idempotency, or conflicts when the place moved).
    private var history: [([AppendRequest], AppendCondition?)] = []
    /// Recent events, reused now and then inside new appends.
    private var known: [EventData] = []

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func next(model: InMemoryEventStore) async throws -> PropertyOperation {
        let roll = rng.below(1000)
        switch roll {
        case 0..<380: return try await append(model: model, streams: 1)
        case 380..<460: return try await append(model: model, streams: rng.int(in: 2...3))
        case 460..<610: return try await readStream(model: model)
        case 610..<730: return try await readAll(model: model)
        case 730..<790: return .streamInfo(rng.chance(90) ? rng.pick(Self.streams) : "never-written")
        case 790..<820: return .listStreams(prefix: rng.pick(Self.prefixes))
        case 820..<870: return try await delete(model: model, mode: .soft)
        case 870..<874: return try await delete(model: model, mode: .tombstone)
        case 874..<930: return try await setMetadata(model: model)
        case 930..<950: return .stats
        default: return try await append(model: model, streams: 1, conditional: true)
        }
    }

    // MARK: - Appends

    private mutating func append(model: InMemoryEventStore, streams count: Int, conditional: Bool = false) async throws -> PropertyOperation {
        if !history.isEmpty && rng.chance(12) {
            var (requests, condition) = rng.pick(history)
            // Mostly the very same append (a retry); sometimes with another expectation.
            if rng.chance(25) {
                let i = rng.below(requests.count)
                requests[i].expectedRevision = try await expectedRevision(for: requests[i].stream, model: model)
            }
            return .append(requests, condition)
        }
        let names = rng.chance(1) ? [rng.pick(Self.invalidStreams)] : pickStreams(count)
        var requests: [AppendRequest] = []
        for name in names {
            var events = (0..<rng.int(in: 1...(count == 1 ? 5 : 3))).map { _ in newEvent() }
            if !known.isEmpty && rng.chance(5) {
                // An old id among new ones, or a whole old event somewhere else.
                if rng.coin() { events[rng.below(events.count)] = rng.pick(known) } else { events = [rng.pick(known)] }
            }
            if rng.chance(1) { events[rng.below(events.count)] = invalidEvent() }
            requests.append(AppendRequest(stream: name, expectedRevision: try await expectedRevision(for: name, model: model), events: events))
        }
        let condition = conditional || rng.chance(4) ? try await condition(model: model) : nil
        remember(requests, condition)
        return .append(requests, condition)
    }

    private mutating func remember(_ requests: [AppendRequest], _ condition: AppendCondition?) {
        history.append((requests, condition))
        if history.count > 48 { history.removeFirst() }
        for request in requests { known.append(contentsOf: request.events) }
        if known.count > 200 { known.removeFirst(known.count - 200) }
    }

    private mutating func pickStreams(_ count: Int) -> [String] {
        var names: [String] = []
        while names.count < count {
            let name = rng.pick(Self.streams)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    private mutating func newEvent() -> EventData {
        let id = rng.uuid()
        let type = rng.pick(Self.types)
        let n = rng.below(1_000)
        switch rng.below(10) {
        case 0:
            return EventData(id: id, type: type, data: rng.bytes(rng.below(9)), contentType: .binary)
        case 1, 2, 3:
            let tags = rng.subset(Self.tags, max: 2)
            return EventData(id: id, type: type, data: Data(#"{"n":\#(n)}"#.utf8), metadata: EventData.metadata(tags: tags.isEmpty ? ["a"] : tags))
        case 4:
            return EventData(id: id, type: type, data: Data(#"{"n":\#(n)}"#.utf8), metadata: Data(#"{"k":\#(n),"tags":[]}"#.utf8))
        default:
            return EventData(id: id, type: type, data: Data(#"{"n":\#(n)}"#.utf8))
        }
    }

    private mutating func invalidEvent() -> EventData {
        switch rng.below(3) {
        case 0: return EventData(id: rng.uuid(), type: "", data: Data("{}".utf8))
        case 1: return EventData(id: rng.uuid(), type: "bad\u{1}", data: Data("{}".utf8))
        default: return EventData(id: rng.uuid(), type: "noted", data: Data("{}".utf8), metadata: Data("[1]".utf8))
        }
    }

    /// Mostly the right expectation, sometimes a loose or a wrong one.
    private mutating func expectedRevision(for stream: String, model: InMemoryEventStore) async throws -> ExpectedRevision {
        let info = (try? await model.streamInfo(stream)) ?? .unknown(stream)
        let roll = rng.below(100)
        switch roll {
        case 0..<45: return info.exists ? .exact(info.lastRevision) : (rng.coin() ? .noStream : .exact(0))
        case 45..<60: return .any
        case 60..<70: return .streamExists
        case 70..<80: return .noStream
        default:
            let low = info.lastRevision >= 2 ? info.lastRevision - 2 : 0
            return .exact(rng.uint64(in: low...(info.lastRevision + 2)))
        }
    }

    private mutating func condition(model: InMemoryEventStore) async throws -> AppendCondition {
        var items = [EventQuery.Item(types: Set(rng.subset(Self.types, max: 2)), tags: Set(rng.subset(Self.tags, max: 2)))]
        if rng.chance(20) { items.append(EventQuery.Item(types: [rng.pick(Self.types)], tags: [])) }
        let head = try await model.headPosition()
        let after: UInt64?
        switch rng.below(10) {
        case 0: after = nil
        case 1, 2, 3: after = rng.uint64(in: 0...head)
        default: after = head - min(head, UInt64(rng.below(9)))
        }
        return AppendCondition(failIfEventsMatch: EventQuery(items: items), after: after)
    }

    // MARK: - Reads

    private mutating func readStream(model: InMemoryEventStore) async throws -> PropertyOperation {
        let stream = rng.chance(95) ? rng.pick(Self.streams) : "never-written"
        let last = (try? await model.streamInfo(stream).lastRevision) ?? 0
        let origin: ReadOrigin
        switch rng.below(10) {
        case 0, 1, 2: origin = .start
        case 3, 4: origin = .end
        default: origin = .at(rng.uint64(in: 0...(last + 2)))
        }
        return .readStream(stream, origin, rng.coin() ? .forward : .backward, limit: rng.chance(25) ? nil : rng.int(in: 0...12))
    }

    private mutating func readAll(model: InMemoryEventStore) async throws -> PropertyOperation {
        let head = try await model.headPosition()
        let origin: ReadOrigin
        switch rng.below(10) {
        case 0, 1, 2: origin = .start
        case 3, 4: origin = .end
        default: origin = .at(rng.uint64(in: 0...(head + 2)))
        }
        var filter = EventFilter()
        if rng.coin() {
            filter = EventFilter(streamPrefixes: rng.subset(Self.prefixes, max: 2), eventTypes: Set(rng.subset(Self.types, max: 2)))
        }
        return .readAll(origin, rng.coin() ? .forward : .backward, filter, limit: rng.chance(15) ? nil : rng.int(in: 0...25))
    }

    // MARK: - Deletes and metadata

    private mutating func delete(model: InMemoryEventStore, mode: DeleteMode) async throws -> PropertyOperation {
        let stream = rng.chance(95) ? rng.pick(Self.streams) : "never-written"
        var mode = mode
        if mode == .tombstone {
            // Tombstones are for ever: keep at least seven of the eight streams writable.
            var tombstoned = 0
            for name in Self.streams where try await model.streamInfo(name).isTombstoned { tombstoned += 1 }
            if tombstoned >= 1 { mode = .soft }
        }
        let expected: ExpectedRevision
        switch rng.below(10) {
        case 0...5: expected = .any
        case 6, 7: expected = try await expectedRevision(for: stream, model: model)
        default: expected = .exact(UInt64(rng.below(6)))
        }
        return .delete(stream, expected, mode)
    }

    private mutating func setMetadata(model: InMemoryEventStore) async throws -> PropertyOperation {
        let stream = rng.chance(97) ? rng.pick(Self.streams) : rng.pick(Self.invalidStreams)
        let last = (try? await model.streamInfo(stream).lastRevision) ?? 0
        var metadata = StreamMetadata()
        switch rng.below(10) {
        case 0, 1: break
        case 2: metadata.maxCount = rng.chance(10) ? -1 : rng.int(in: 0...6)
        case 3: metadata.custom = Data(#"{"owner":"team-\#(rng.below(5))"}"#.utf8)
        default:
            if rng.coin() { metadata.maxCount = rng.int(in: 0...6) }
            if rng.coin() { metadata.truncateBefore = rng.uint64(in: 0...(last + 2)) }
        }
        return .setMetadata(stream, metadata)
    }
}
