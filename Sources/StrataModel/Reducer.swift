import Foundation
import Strata

/// A fold of events into a state: valkyr's `makeReducer`.
///
/// ```swift
/// let user = Reducer<UserState, UserEvents>(name: "user", initial: UserState()) { state, envelope in
///     switch envelope.event {
///     case .userCreated(let e): state.name = "\(e.name.given) \(e.name.family)"; state.email = e.email
///     case .userEmailSet(let e): state.email = e.email
///     }
/// }
/// let state = try await repository.reduce(stream: "user-42", using: user)   // nil for an empty stream
/// ```
/// Events whose type is not part of `Event` are skipped.
public struct Reducer<State: Sendable, Event: EventSet>: Sendable {
    /// The reducer's name: with the stream, the key of its snapshots.
    public let name: String
    /// The reducer's version: snapshots taken by another version are ignored.
    public let version: Int
    /// The state before any event.
    public let initial: @Sendable () -> State
    /// Applies one event.
    public let apply: @Sendable (inout State, Envelope<Event>) throws -> Void

    /// Creates a reducer.
    public init(name: String, version: Int = 1, initial: @autoclosure @escaping @Sendable () -> State,
                apply: @escaping @Sendable (inout State, Envelope<Event>) throws -> Void) {
        self.name = name
        self.version = version
        self.initial = initial
        self.apply = apply
    }

    /// Folds decoded events into `state`.
    public func fold(_ state: inout State, _ events: some Sequence<Envelope<Event>>) throws {
        for event in events { try apply(&state, event) }
    }
}
