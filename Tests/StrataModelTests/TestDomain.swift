import Foundation
import Strata
import StrataModel

struct Name: Codable, Sendable, Hashable {
    var given: String
    var family: String
}

struct UserCreated: DomainEvent, Hashable {
    static let eventType = "user:created"
    static let eventVersion = 2
    var name: Name
    var email: String
}

struct UserEmailSet: DomainEvent, Hashable {
    static let eventType = "user:email-set"
    var email: String
}

/// The seed's two user events as one set, the shape `strata codegen` generates.
enum UserEvents: EventSet, Hashable {
    case created(UserCreated)
    case emailSet(UserEmailSet)

    static var eventTypes: [String] { [UserCreated.eventType, UserEmailSet.eventType] }

    static func decode(type: String, payload: Data, codec: EventCodec) throws -> UserEvents? {
        switch type {
        case UserCreated.eventType: .created(try codec.decodePayload(UserCreated.self, from: payload))
        case UserEmailSet.eventType: .emailSet(try codec.decodePayload(UserEmailSet.self, from: payload))
        default: nil
        }
    }

    func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data) {
        switch self {
        case .created(let e): try e.encodePayload(codec: codec)
        case .emailSet(let e): try e.encodePayload(codec: codec)
        }
    }
}

struct UserState: Codable, Sendable, Hashable {
    var name = ""
    var email = ""
}

/// valkyr's reducer from the seed README.
let userReducer = Reducer<UserState, UserEvents>(name: "user", initial: UserState()) { state, envelope in
    switch envelope.event {
    case .created(let e):
        state.name = "\(e.name.given) \(e.name.family)"
        state.email = e.email
    case .emailSet(let e):
        state.email = e.email
    }
}

struct Deposited: DomainEvent { static let eventType = "account:deposited"; var amount: Int }
struct Withdrawn: DomainEvent { static let eventType = "account:withdrawn"; var amount: Int }

enum AccountEvents: EventSet {
    case deposited(Deposited)
    case withdrawn(Withdrawn)
    static var eventTypes: [String] { [Deposited.eventType, Withdrawn.eventType] }
    static func decode(type: String, payload: Data, codec: EventCodec) throws -> AccountEvents? {
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

struct InsufficientFunds: Error {}

struct Account: Aggregate, Codable {
    typealias Event = AccountEvents
    static let name = "account"
    var balance = 0
    var applied = 0

    init() {}

    mutating func apply(_ event: AccountEvents) {
        applied += 1
        switch event {
        case .deposited(let e): balance += e.amount
        case .withdrawn(let e): balance -= e.amount
        }
    }

    func withdraw(_ amount: Int) throws -> AccountEvents {
        guard balance >= amount else { throw InsufficientFunds() }
        return .withdrawn(Withdrawn(amount: amount))
    }
}

/// Collects values from concurrent handlers.
final class Collector<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func add(_ item: T) { lock.withLock { items.append(item) } }
    var values: [T] { lock.withLock { items } }
    func reset() { lock.withLock { items.removeAll() } }
}


