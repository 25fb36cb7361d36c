// A small event-sourced domain on Strata: bank accounts.
//
// - `BankAccount` is an aggregate: it decides (a withdrawal needs funds) and records events.
// - A transfer saves two aggregates in one atomic multi-stream append.
// - A projector keeps a balances read model (`on`) and sends a welcome message once per new
//   account (`once`), run live by a checkpointed consumer.
// - A state-file consumer keeps running totals in a snapshot file and resumes from it.
//
// Run it with `swift run AccountsExample [DIRECTORY]` (a temporary directory by default).
import Foundation
import Strata
import StrataConsumers
import StrataLog
import StrataModel

// MARK: Events

struct AccountOpened: DomainEvent { static let eventType = "account:opened"; var owner: String }
struct MoneyDeposited: DomainEvent { static let eventType = "account:deposited"; var amount: Int }
struct MoneyWithdrawn: DomainEvent { static let eventType = "account:withdrawn"; var amount: Int }

enum AccountEvent: EventSet {
    case opened(AccountOpened)
    case deposited(MoneyDeposited)
    case withdrawn(MoneyWithdrawn)

    static var eventTypes: [String] { [AccountOpened.eventType, MoneyDeposited.eventType, MoneyWithdrawn.eventType] }

    static func decode(type: String, payload: Data, codec: EventCodec) throws -> AccountEvent? {
        switch type {
        case AccountOpened.eventType: .opened(try codec.decodePayload(AccountOpened.self, from: payload))
        case MoneyDeposited.eventType: .deposited(try codec.decodePayload(MoneyDeposited.self, from: payload))
        case MoneyWithdrawn.eventType: .withdrawn(try codec.decodePayload(MoneyWithdrawn.self, from: payload))
        default: nil
        }
    }

    func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data) {
        switch self {
        case .opened(let e): try e.encodePayload(codec: codec)
        case .deposited(let e): try e.encodePayload(codec: codec)
        case .withdrawn(let e): try e.encodePayload(codec: codec)
        }
    }
}

// MARK: The aggregate

struct InsufficientFunds: Error, CustomStringConvertible {
    var balance: Int
    var description: String { "insufficient funds (balance \(balance))" }
}

struct BankAccount: Aggregate, Codable {
    static let name = "account"
    var owner = ""
    var balance = 0

    init() {}

    mutating func apply(_ event: AccountEvent) {
        switch event {
        case .opened(let e): owner = e.owner
        case .deposited(let e): balance += e.amount
        case .withdrawn(let e): balance -= e.amount
        }
    }
}

extension AggregateRoot where A == BankAccount {
    func open(owner: String) throws { try record(.opened(AccountOpened(owner: owner))) }
    func deposit(_ amount: Int) throws { try record(.deposited(MoneyDeposited(amount: amount))) }
    func withdraw(_ amount: Int) throws {
        guard state.balance >= amount else { throw InsufficientFunds(balance: state.balance) }
        try record(.withdrawn(MoneyWithdrawn(amount: amount)))
    }
}

// MARK: The read model

final class Balances: @unchecked Sendable {
    private let lock = NSLock()
    private var byStream: [String: Int] = [:]
    func change(_ stream: String, by amount: Int) { lock.withLock { byStream[stream, default: 0] += amount } }
    var all: [String: Int] { lock.withLock { byStream } }
    func wipe() { lock.withLock { byStream.removeAll() } }
}

final class Owners: @unchecked Sendable {
    private let lock = NSLock()
    private var byStream: [String: String] = [:]
    func set(_ stream: String, _ owner: String) { lock.withLock { byStream[stream] = owner } }
    func owner(_ stream: String) -> String { lock.withLock { byStream[stream] ?? "?" } }
}

final class Outbox: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func send(_ message: String) { lock.withLock { messages.append(message) } }
    var sent: [String] { lock.withLock { messages } }
}

struct Totals: Codable, Sendable {
    var deposited = 0
    var withdrawn = 0
}

// MARK: The program

let directory = CommandLine.arguments.dropFirst().first ?? NSTemporaryDirectory() + "strata-accounts-\(UUID().uuidString)"
let store = try LogEventStore(directory: directory + "/events")
let codec = EventCodec(registry: EventRegistry([AccountOpened.self, MoneyDeposited.self, MoneyWithdrawn.self]))
let repository = Repository(store: store, codec: codec, snapshots: try FileSnapshotStore(directory: directory + "/snapshots"),
                            policy: .every(50))

// The projector, run live by a checkpointed consumer.
let balances = Balances()
let owners = Owners()
let outbox = Outbox()
let projector = Projector(store: store, codec: codec)
// Balances add up every movement, so they use `all`: `on` skips an event when its stream has a
// later one of the same type, which suits "latest value" models (like the owner name below).
projector.all(MoneyDeposited.self) { envelope, _ in balances.change(envelope.stream, by: envelope.event.amount) }
projector.all(MoneyWithdrawn.self) { envelope, _ in balances.change(envelope.stream, by: -envelope.event.amount) }
projector.on(AccountOpened.self) { envelope, _ in owners.set(envelope.stream, envelope.event.owner) }
projector.once(AccountOpened.self) { envelope in outbox.send("welcome, \(envelope.event.owner)") }
let live = projector.consumer(name: "balances", checkpoints: try FileCheckpointStore(directory: directory + "/checkpoints"))
live.start()

// A state-file consumer with running totals.
let totals = try StateFileConsumer(snapshotFile: directory + "/totals.json", store: store,
                                   options: ConsumerOptions(filter: EventFilter(eventTypes: [MoneyDeposited.eventType, MoneyWithdrawn.eventType])),
                                   defaultState: Totals()) { totals, event in
    guard let decoded = try codec.decode(event, as: AccountEvent.self) else { return }
    switch decoded.event {
    case .deposited(let e): totals.deposited += e.amount
    case .withdrawn(let e): totals.withdrawn += e.amount
    case .opened: break
    }
}
totals.start()

// Commands.
let ada = try await repository.load(BankAccount.self, id: "ada")
try ada.open(owner: "Ada")
try ada.deposit(100)
try await repository.save(ada)

let alan = try await repository.load(BankAccount.self, id: "alan")
try alan.open(owner: "Alan")
try alan.deposit(20)
try await repository.save(alan)

do {
    try await repository.update(BankAccount.self, id: "alan") { try $0.withdraw(50) }
} catch let error as InsufficientFunds {
    print("alan cannot withdraw 50: \(error)")
}

// A transfer: both accounts change in one atomic append, or neither does.
let from = try await repository.load(BankAccount.self, id: "ada")
let to = try await repository.load(BankAccount.self, id: "alan")
try from.withdraw(30)
try to.deposit(30)
try await repository.save([from, to])

let head = try await store.headPosition()
try await live.waitUntilProcessed(through: head, timeout: .seconds(10))
try await totals.waitUntilProcessed(through: head, timeout: .seconds(10))

for (stream, balance) in balances.all.sorted(by: { $0.key < $1.key }) { print("\(stream) (\(owners.owner(stream))): \(balance)") }
print("messages: \(outbox.sent.sorted().joined(separator: "; "))")
print("totals: deposited \(totals.state.deposited), withdrawn \(totals.state.withdrawn)")

// Rebuild the read model from scratch: same balances, and no welcome message sent again.
let before = balances.all
balances.wipe()
try await projector.replay()
print("replay rebuilt the same balances: \(balances.all == before); messages sent: \(outbox.sent.count)")

await live.stop()
await totals.stop()
try await store.close()
