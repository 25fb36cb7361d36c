import Foundation
import Strata
import StrataModel

/// The modeling layer's costs: typed replay of one long stream into an aggregate (against the
/// raw read of the same stream, so the ratio is the price of decoding), and projector throughput.
enum ModelWorkloads {
    struct Deposited: DomainEvent {
        static let eventType = "bench:deposited"
        var amount: Int
        var currency: String
        var reference: String
        var note: String
        var tags: [String]
    }

    struct Withdrawn: DomainEvent {
        static let eventType = "bench:withdrawn"
        var amount: Int
        var currency: String
        var reference: String
    }

    enum Movement: EventSet {
        case deposited(Deposited)
        case withdrawn(Withdrawn)
        static var eventTypes: [String] { [Deposited.eventType, Withdrawn.eventType] }
        static func decode(type: String, payload: Data, codec: EventCodec) throws -> Movement? {
            switch type {
            case Deposited.eventType: .deposited(try codec.decodePayload(Deposited.self, from: payload))
            case Withdrawn.eventType: .withdrawn(try codec.decodePayload(Withdrawn.self, from: payload))
            default: nil
            }
        }
        func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data) {
            switch self {
            case .deposited(let e): try e.encodePayload(codec: codec)
            case .withdrawn(let e): try e.encodePayload(codec: codec)
            }
        }
    }

    struct Ledger: Aggregate {
        static let name = "ledger"
        var balance = 0
        var count = 0
        init() {}
        mutating func apply(_ event: Movement) {
            count += 1
            switch event {
            case .deposited(let e): balance += e.amount
            case .withdrawn(let e): balance -= e.amount
            }
        }
    }

    /// Appends `events` movements to one stream (not timed).
    static func fillLedger(_ store: some EventStore, events: Int, stream: String) async throws {
        let codec = EventCodec()
        var batch: [EventData] = []
        for i in 0 ..< events {
            let movement: Movement = i % 4 == 3
                ? .withdrawn(Withdrawn(amount: i % 50, currency: "EUR", reference: "WD-\(i)"))
                : .deposited(Deposited(amount: i % 100, currency: "EUR", reference: "INV-\(i)", note: "monthly fee for plan \(i % 7)", tags: ["billing", "auto"]))
            batch.append(try codec.eventData(movement))
            if batch.count == 1000 {
                _ = try await store.append(to: stream, events: batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = try await store.append(to: stream, events: batch) }
    }

    /// Loads the ledger aggregate (no snapshot): every event read, decoded and applied.
    /// Returns events per second.
    static func typedReplay(_ store: some EventStore, events: Int, stream: String) async throws -> Double {
        let repository = Repository(store: store)
        var count = 0
        let seconds = try await Stopwatch.time {
            let ledger = try await repository.load(Ledger.self, id: "bench")
            count = ledger.state.count
        }
        _ = stream
        try ReadWorkloads.check(count, events, "model.replay.typed")
        return Double(count) / seconds
    }

    /// Reads the same stream without decoding. Returns events per second.
    static func rawReplay(_ store: some EventStore, events: Int, stream: String) async throws -> Double {
        var count = 0
        let seconds = try await Stopwatch.time {
            for try await _ in store.readStream(stream) { count += 1 }
        }
        try ReadWorkloads.check(count, events, "model.replay.raw")
        return Double(count) / seconds
    }

    /// A projector with one typed `all` handler per type replays every event of `streams`
    /// streams (outdated checks included). Returns events per second.
    static func projector(_ store: some EventStore, events: Int, streams: Int) async throws -> Double {
        let codec = EventCodec()
        var batch: [AppendRequest] = []
        for i in 0 ..< events {
            let event = try codec.eventData(Movement.deposited(Deposited(amount: i % 100, currency: "EUR", reference: "INV-\(i)",
                                                                        note: "n", tags: [])))
            batch.append(AppendRequest(stream: "account-\(i % streams)", events: [event]))
            if batch.count == streams || i == events - 1 {
                _ = try await store.append(batch, condition: nil)
                batch.removeAll(keepingCapacity: true)
            }
        }
        let counter = Counter()
        let projector = Projector(store: store, codec: codec)
        projector.all(Deposited.self) { envelope, _ in counter.add(envelope.event.amount) }
        var handled = 0
        let seconds = try await Stopwatch.time { handled = try await projector.replay() }
        try ReadWorkloads.check(handled, events, "model.projector")
        return Double(handled) / seconds
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var total = 0
        func add(_ n: Int) { lock.withLock { total += n } }
    }
}
