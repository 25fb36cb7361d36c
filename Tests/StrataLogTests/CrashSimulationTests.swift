import Foundation
import Strata
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataLog

/// Seeded crash simulation on a ``SimulatedDisk`` (issue 14): random workloads with power losses
/// and injected I/O faults, checked after every recovery against the in-memory reference model.
///
/// Replay a failure with `STRATA_SIM_SEED=<seed> STRATA_SIM_ROUNDS=1 swift test --disable-xctest
/// --filter CrashSimulation`; run many rounds with `STRATA_SIM_ROUNDS=10000`.
@Suite("crash simulation on a simulated disk")
struct CrashSimulationTests {
    @Test("random workloads with power losses and I/O faults lose no acknowledged append and never show half a batch")
    func randomRounds() async throws {
        let rounds = Int(TestEnvironment.integer("STRATA_SIM_ROUNDS", 20))
        let first = TestEnvironment.integer("STRATA_SIM_SEED", UInt64.random(in: 1...UInt64(UInt32.max)))
        print("crash simulation: \(rounds) rounds from seed \(first) (replay one with STRATA_SIM_SEED=<seed> STRATA_SIM_ROUNDS=1)")
        var totals = SimulationRound.Totals()
        for round in 0..<rounds {
            let seed = first &+ UInt64(round)
            var simulation = SimulationRound(seed: seed)
            do {
                try await simulation.run()
            } catch {
                Issue.record("crash simulation failed, seed \(seed) (replay: STRATA_SIM_SEED=\(seed) STRATA_SIM_ROUNDS=1): \(error)\n\(simulation.trace.suffix(SimulationRound.traceLines).joined(separator: "\n"))")
                return
            }
            totals.add(simulation.totals)
        }
        print("crash simulation: \(totals)")
    }

    @Test("every unsynced write kept, none kept, a prefix, or torn sectors: the log recovers to an acknowledged state",
          arguments: SimulatedDisk.LossMode.allCases)
    func eachLossMode(_ mode: SimulatedDisk.LossMode) async throws {
        for seed in UInt64(1)...3 {
            var simulation = SimulationRound(seed: seed &* 7919, lossMode: mode)
            do {
                try await simulation.run()
            } catch {
                Issue.record("mode \(mode), seed \(seed &* 7919): \(error)\n\(simulation.trace.suffix(SimulationRound.traceLines).joined(separator: "\n"))")
            }
        }
    }
}

/// One seeded run: a workload on one or two writers over one simulated disk, with faults.
struct SimulationRound {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Totals: CustomStringConvertible {
        var rounds = 0, operations = 0, acknowledged = 0, recoveries = 0, powerLosses = 0, faultsFired = 0
        var faultKinds: [String: Int] = [:]
        var unknownKept = 0, unknownLost = 0
        mutating func add(_ other: Totals) {
            rounds += other.rounds; operations += other.operations; acknowledged += other.acknowledged
            recoveries += other.recoveries; powerLosses += other.powerLosses; faultsFired += other.faultsFired
            unknownKept += other.unknownKept; unknownLost += other.unknownLost
            for (k, v) in other.faultKinds { faultKinds[k, default: 0] += v }
        }
        var description: String {
            "\(rounds) rounds, \(operations) operations (\(acknowledged) acknowledged), \(recoveries) recoveries, "
                + "\(powerLosses) power losses, \(faultsFired) faults fired \(faultKinds.sorted { $0.key < $1.key }), "
                + "unacknowledged operations found applied \(unknownKept), not applied \(unknownLost)"
        }
    }

    /// An operation of the workload, replayable on any store.
    enum Operation: CustomStringConvertible {
        case append([AppendRequest], AppendCondition?)
        case metadata(String, StreamMetadata)
        case delete(String, ExpectedRevision, DeleteMode)

        func apply(to store: any EventStore) async throws -> String {
            switch self {
            case .append(let requests, let condition):
                let results = try await store.append(requests, condition: condition)
                return results.map { "\($0.stream)@\($0.firstRevision)-\($0.lastRevision)/\($0.firstPosition)-\($0.lastPosition)" }.joined(separator: ",")
            case .metadata(let stream, let metadata):
                try await store.setStreamMetadata(stream, metadata)
                return "ok"
            case .delete(let stream, let expected, let mode):
                try await store.deleteStream(stream, expectedRevision: expected, mode: mode)
                return "ok"
            }
        }

        var description: String {
            switch self {
            case .append(let requests, let condition):
                return "append " + requests.map { "\($0.stream)(\($0.expectedRevision)) x\($0.events.count)" }.joined(separator: " + ")
                    + (condition == nil ? "" : " if no match")
            case .metadata(let stream, let metadata):
                return "metadata \(stream) maxCount \(metadata.maxCount.map(String.init) ?? "-") truncateBefore \(metadata.truncateBefore.map(String.init) ?? "-")"
            case .delete(let stream, let expected, let mode):
                return "delete \(stream) (\(expected)) \(mode)"
            }
        }
    }

    /// How many lines of the operation trace a failure prints (STRATA_SIM_TRACE lines, default 25).
    static let traceLines = Int(TestEnvironment.integer("STRATA_SIM_TRACE", 25))
    static let streams = ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"]
    static let directory = "/sim/store"

    let seed: UInt64
    let disk: SimulatedDisk
    var random: SplitMix64
    let configuration: LogConfiguration
    let writers: Int
    let lossMode: SimulatedDisk.LossMode?
    var stores: [LogEventStore] = []
    /// Acknowledged operations, in order: the model is their replay.
    var acknowledged: [Operation] = []
    var trace: [String] = []
    var totals = Totals()
    var eventCounter = 0

    init(seed: UInt64, lossMode: SimulatedDisk.LossMode? = nil) {
        self.seed = seed
        self.lossMode = lossMode
        disk = SimulatedDisk(seed: seed)
        random = SplitMix64(seed: seed ^ 0x5EED)
        let segmentSize = [4096, 8192, 65_536][Int(random.next() % 3)]
        let compress = random.next() % 4 == 0
        let retention: LogRetention? = random.next() % 5 == 0 ? LogRetention(maxBytes: Int64(segmentSize * 3)) : nil
        configuration = LogConfiguration(durability: .fsync, segmentSize: segmentSize, compressSealedSegments: compress, retention: retention)
        writers = random.next() % 3 == 0 ? 2 : 1
    }

    mutating func log(_ line: String) { trace.append(line) }

    mutating func run() async throws {
        totals.rounds = 1
        log("seed \(seed): segment \(configuration.segmentSize), compress \(configuration.compressSealedSegments), retention \(configuration.retention != nil), writers \(writers)")
        try openStores()
        let epochs = 2 + Int(random.next() % 4)
        for _ in 0..<epochs {
            armFault()
            for _ in 0..<(5 + Int(random.next() % 30)) {
                if try await step() { break }
            }
            try await recover(powerLoss: random.next() % 2 == 0)
        }
        // Everything acknowledged was synced: a power loss that keeps nothing unsynced loses none of it.
        try await recover(powerLoss: true, forcedMode: .keepNone)
        // And the store still takes appends.
        let op = Operation.append([AppendRequest(stream: "after-recovery", events: [newEvent()])], nil)
        let result = try await op.apply(to: stores[0])
        let model = try await replay(acknowledged)
        let expected = try await op.apply(to: model)
        try? await model.close()
        log("append after recovery: \(result)")
        guard result == expected else { throw Failure(description: "append after recovery: the store answered \(result), the model \(expected)") }
        for store in stores { try await store.close() }
    }

    /// Arms this epoch's fault: a power loss after some operations, an injected I/O fault, a
    /// full disk, or nothing.
    mutating func armFault() {
        disk.capacity = nil
        switch random.next() % 10 {
        case 0, 1, 2, 3:
            let count = 1 + Int(random.next() % 400)
            disk.powerLoss(afterOperations: count)
            log("armed: power loss after \(count) disk operations")
        case 4, 5, 6, 7:
            let operations: [SimulatedDisk.Fault.Operation] = [.write, .write, .sync, .sync, .allocate, .rename, .syncDirectory, .open, .truncate]
            let operation = operations[Int(random.next() % UInt64(operations.count))]
            let kinds: [SimulatedDisk.Fault.Kind]
            switch operation {
            case .write: kinds = [.ioError, .noSpace, .shortWrite]
            case .sync: kinds = [.syncFailure, .ioError]
            case .allocate: kinds = [.noSpace, .ioError]
            default: kinds = [.ioError]
            }
            let fault = SimulatedDisk.Fault(operation, kinds[Int(random.next() % UInt64(kinds.count))], skip: Int(random.next() % 40))
            disk.inject(fault)
            log("armed: \(fault)")
        case 8:
            let used = disk.filePaths().reduce(0) { $0 + (disk.contents(of: $1)?.count ?? 0) }
            let capacity = used + Int(random.next() % UInt64(configuration.segmentSize * 3))
            disk.capacity = capacity
            log("armed: disk full at \(capacity) bytes (\(used) used)")
        default:
            log("armed: nothing")
        }
    }

    /// One random operation on a random writer. Returns true when it failed with an I/O error
    /// (the epoch ends; the operation's outcome is decided at recovery).
    mutating func step() async throws -> Bool {
        let operation = try await nextOperation()
        let store = stores[Int(random.next() % UInt64(stores.count))]
        totals.operations += 1
        let outcome: Result<String, any Error>
        do { outcome = .success(try await operation.apply(to: store)) } catch { outcome = .failure(error) }
        if case .failure(let error) = outcome, Self.isIOFailure(error) {
            log("\(operation) -> I/O failure: \(error)")
            pendingUnknown = operation
            return true
        }
        // A decided outcome: the model must agree exactly.
        let model = try await replay(acknowledged)
        let expected: Result<String, any Error>
        do { expected = .success(try await operation.apply(to: model)) } catch { expected = .failure(error) }
        try? await model.close()
        let got = Self.describe(outcome), want = Self.describe(expected)
        log("\(operation) -> \(got)")
        guard got == want else { throw Failure(description: "operation \(operation): the store answered \(got), the model \(want)") }
        if case .success = outcome {
            acknowledged.append(operation)
            totals.acknowledged += 1
        }
        return false
    }

    var pendingUnknown: Operation?

    static func isIOFailure(_ error: any Error) -> Bool {
        switch error as? StrataError {
        case .io?, .storeClosed?, .corruption?: return true
        default: return false
        }
    }

    static func describe(_ result: Result<String, any Error>) -> String {
        switch result {
        case .success(let text): return text
        case .failure(let error): return "error \(error)"
        }
    }

    /// Closes the writers, optionally cuts the power, checks the directory with `verify`, reopens
    /// and compares everything with the model (with the unknown operation applied or not).
    mutating func recover(powerLoss: Bool, forcedMode: SimulatedDisk.LossMode? = nil) async throws {
        totals.recoveries += 1
        for store in stores { try? await store.close() }
        stores = []
        let fired = disk.firedFaults.count
        if fired > totals.faultsFired {
            for fault in disk.firedFaults[totals.faultsFired...] { totals.faultKinds["\(fault.kind)", default: 0] += 1 }
            totals.faultsFired = fired
        }
        disk.clearFaults()
        disk.capacity = nil
        let lostAlready = disk.powerLossCount > lastSeenPowerLosses
        if powerLoss || lostAlready {
            if !lostAlready {
                let report = disk.powerLoss(forcedMode ?? lossMode)
                log("power loss: \(report)")
            } else {
                log("power was lost during the epoch: \(disk.lastPowerLoss.map { "\($0)" } ?? "")")
            }
            totals.powerLosses += 1
        }
        let report = try LogEventStore.verify(directory: Self.directory, fileSystem: disk.fileSystem())
        guard report.isOK else { throw Failure(description: "verify after recovery: \(report.problems)") }
        try openStores()
        let state = try await Snapshot(of: stores[0])
        let without = try await replay(acknowledged)
        let stateWithout = try await Snapshot(of: without, from: state.firstPosition)
        try? await without.close()
        if let unknown = pendingUnknown {
            pendingUnknown = nil
            if state == stateWithout {
                totals.unknownLost += 1
                log("recovered without: \(unknown)")
            } else {
                let with = try await replay(acknowledged + [unknown])
                let stateWith = try await Snapshot(of: with, from: state.firstPosition)
                try? await with.close()
                guard state == stateWith else {
                    throw Failure(description: "after recovery the store matches neither the model without nor with \(unknown):\n"
                                  + "store: \(state.difference(from: stateWithout))\nwith: \(state.difference(from: stateWith))")
                }
                acknowledged.append(unknown)
                totals.unknownKept += 1
                log("recovered with: \(unknown)")
            }
        } else {
            guard state == stateWithout else {
                throw Failure(description: "after recovery the store differs from the model: \(state.difference(from: stateWithout)); files: \(disk.filePaths().map { "\($0) \(disk.contents(of: $0)?.count ?? 0)" })")
            }
        }
        // Every writer sees the same.
        for store in stores.dropFirst() {
            let other = try await Snapshot(of: store)
            guard other == state else { throw Failure(description: "a second writer sees another state: \(other.difference(from: state))") }
        }
    }

    private var lastSeenPowerLosses = 0

    mutating func openStores() throws {
        stores = try (0..<writers).map { _ in
            try LogEventStore(directory: Self.directory, configuration: configuration, fileSystem: disk.fileSystem())
        }
        lastSeenPowerLosses = disk.powerLossCount
    }

    func replay(_ operations: [Operation]) async throws -> InMemoryEventStore {
        let model = InMemoryEventStore()
        for (i, operation) in operations.enumerated() {
            do { _ = try await operation.apply(to: model) } catch {
                throw Failure(description: "the model refused acknowledged operation \(i), \(operation): \(error)")
            }
        }
        return model
    }

    // MARK: - Drawing operations

    mutating func newEvent() -> EventData {
        eventCounter += 1
        var bytes = (UInt64(0), UInt64(0))
        bytes.0 = random.next()
        bytes.1 = random.next()
        let id = withUnsafeBytes(of: &bytes) { UUID(uuid: $0.load(as: uuid_t.self)) }
        let padding = String(repeating: "x", count: Int(random.next() % 300))
        let metadata = random.next() % 4 == 0 ? #"{"tags":["t\#(random.next() % 3)"]}"# : nil
        return EventData(id: id, type: "e\(random.next() % 3)", json: #"{"n":\#(eventCounter),"pad":"\#(padding)"}"#, metadata: metadata)
    }

    mutating func nextOperation() async throws -> Operation {
        let model = try await replay(acknowledged)
        defer { Task { try? await model.close() } }
        func pickStream() -> String { Self.streams[Int(random.next() % UInt64(Self.streams.count))] }
        func expected(_ stream: String) async throws -> ExpectedRevision {
            let info = try await model.streamInfo(stream)
            switch random.next() % 6 {
            case 0: return .any
            case 1: return info.exists ? .exact(info.lastRevision) : .noStream
            case 2: return .exact(info.lastRevision + (random.next() % 2 == 0 ? 1 : 0) + 1)  // usually wrong
            case 3: return .streamExists
            default: return info.exists ? .exact(info.lastRevision) : .noStream
            }
        }
        switch random.next() % 20 {
        case 0:
            let stream = pickStream()
            let metadata = random.next() % 2 == 0 ? StreamMetadata(maxCount: 1 + Int(random.next() % 5))
                : StreamMetadata(truncateBefore: 1 + random.next() % 6)
            return .metadata(stream, metadata)
        case 1:
            let stream = pickStream()
            return .delete(stream, try await expected(stream), random.next() % 8 == 0 ? .tombstone : .soft)
        case 2, 3:
            // Several streams in one atomic append.
            var requests: [AppendRequest] = []
            for stream in Set((0..<2 + Int(random.next() % 2)).map { _ in pickStream() }).sorted() {
                requests.append(AppendRequest(stream: stream, expectedRevision: try await expected(stream),
                                              events: (0..<1 + Int(random.next() % 3)).map { _ in newEvent() }))
            }
            return .append(requests, nil)
        case 4:
            // A conditional append (DCB): no event of a type after the head.
            let head = try await model.headPosition()
            let condition = AppendCondition(failIfEventsMatch: EventQuery(types: ["e\(random.next() % 3)"]), after: head - random.next() % 2 * Swift.min(head, 1))
            return .append([AppendRequest(stream: pickStream(), events: [newEvent()])], condition)
        case 5:
            // A retry of an acknowledged append: idempotent.
            if let previous = acknowledged.last(where: { if case .append(_, nil) = $0 { return true } else { return false } }) { return previous }
            fallthrough
        default:
            let stream = pickStream()
            let count = random.next() % 3 == 0 ? 1 + Int(random.next() % 40) : 1
            return .append([AppendRequest(stream: stream, expectedRevision: try await expected(stream),
                                          events: (0..<count).map { _ in newEvent() })], nil)
        }
    }
}

/// Everything a reader can observe, minus recorded times.
struct Snapshot: Equatable {
    struct Event: Equatable, CustomStringConvertible {
        let id: UUID, stream: String, revision: UInt64, position: UInt64, type: String, data: Data, metadata: Data?
        var description: String { "\(position) \(stream)@\(revision) \(type) \(id.uuidString.prefix(8))" }
    }
    struct Stream: Equatable {
        let info: String
        let positions: [UInt64]
    }
    var head: UInt64
    var firstPosition: UInt64
    var all: [Event]
    var streams: [String: Stream]

    init(of store: any EventStore, from first: UInt64? = nil) async throws {
        let stats = try await store.stats()
        let from = first ?? stats.firstPosition
        head = stats.headPosition
        firstPosition = from
        all = []
        for try await e in store.readAll() where e.position >= from {
            all.append(Event(id: e.id, stream: e.stream, revision: e.revision, position: e.position, type: e.type, data: e.data, metadata: e.metadata))
        }
        streams = [:]
        for name in SimulationRound.streams + ["after-recovery"] {
            let info = try await store.streamInfo(name)
            var positions: [UInt64] = []
            do {
                for try await e in store.readStream(name) where e.position >= from { positions.append(e.position) }
            } catch let error as StrataError {
                positions = [UInt64.max]  // deleted/tombstoned streams answer with an error: compared by its kind
                _ = error
            }
            let metadata = "\(info.metadata.maxCount.map(String.init) ?? "-")/\(info.metadata.truncateBefore.map(String.init) ?? "-")"
            streams[name] = Stream(info: "exists \(info.exists) last \(info.lastRevision) deleted \(info.isDeleted) tombstoned \(info.isTombstoned) meta \(metadata)",
                                   positions: positions)
        }
    }

    func difference(from other: Snapshot) -> String {
        var lines: [String] = []
        if head != other.head { lines.append("head \(head) vs \(other.head)") }
        if all != other.all {
            let i = (0..<Swift.min(all.count, other.all.count)).first { all[$0] != other.all[$0] } ?? Swift.min(all.count, other.all.count)
            lines.append("$all differs at index \(i) (\(all.count) vs \(other.all.count) events): \(i < all.count ? "\(all[i])" : "none") vs \(i < other.all.count ? "\(other.all[i])" : "none")")
        }
        for (name, stream) in streams.sorted(by: { $0.key < $1.key }) where other.streams[name] != stream {
            lines.append("\(name): \(stream.info) \(stream.positions) vs \(other.streams[name].map { "\($0.info) \($0.positions)" } ?? "none")")
        }
        return lines.isEmpty ? "(no difference)" : lines.joined(separator: "; ")
    }
}
