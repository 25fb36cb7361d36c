import Foundation
import Strata

/// A consistency boundary whose state is the fold of its stream (valkyr's `AggregateRoot`).
///
/// ```swift
/// struct Account: Aggregate {
///     static let name = "account"
///     var balance = 0
///     mutating func apply(_ event: AccountEvents) {
///         switch event {
///         case .deposited(let e): balance += e.amount
///         case .withdrawn(let e): balance -= e.amount
///         }
///     }
/// }
/// ```
/// Make the aggregate `Codable` to let repositories snapshot it.
public protocol Aggregate: Sendable {
    /// The events that change the aggregate.
    associatedtype Event: EventSet
    /// The aggregate's name: the prefix of its streams and the name of its snapshots.
    static var name: String { get }
    /// The version of the fold: raise it when ``apply(_:)`` changes, so that older snapshots
    /// are ignored.
    static var version: Int { get }
    /// The stream of the aggregate with this id (default `"<name>-<id>"`).
    static func stream(for id: String) -> String
    /// The state before any event.
    init()
    /// Applies one event.
    mutating func apply(_ event: Event) throws
}

extension Aggregate {
    public static var version: Int { 1 }
    public static func stream(for id: String) -> String { name + "-" + id }
}

/// An event recorded on an aggregate and not yet saved.
public struct PendingEvent<Event: EventSet>: Sendable {
    /// The event.
    public var event: Event
    /// Its metadata.
    public var metadata: EventMetadata
    /// Its id, fixed when recorded so that a retried save is idempotent.
    public var id: UUID
}

/// A loaded aggregate: its state, the revision it was loaded at, and the events recorded since.
///
/// ``record(_:metadata:)`` applies an event at once and keeps it pending; a ``Repository`` saves
/// pending events with an optimistic-concurrency check on the loaded revision. Use one root
/// from one task at a time.
public final class AggregateRoot<A: Aggregate> {
    /// The aggregate id.
    public let id: String
    /// The aggregate's stream.
    public let stream: String
    /// The current state, pending events included.
    public private(set) var state: A
    /// The stream revision the state was loaded at (or saved at); 0 when the stream is new.
    public private(set) var revision: UInt64
    /// Whether the stream existed when loaded (or was created by a save).
    public private(set) var exists: Bool
    /// Events recorded and not yet saved.
    public private(set) var pending: [PendingEvent<A.Event>] = []

    init(id: String, state: A, revision: UInt64, exists: Bool) {
        self.id = id
        self.stream = A.stream(for: id)
        self.state = state
        self.revision = revision
        self.exists = exists
    }

    /// Applies an event to the state and keeps it for the next save.
    /// - Throws: whatever the aggregate's `apply` throws (then nothing is recorded).
    public func record(_ event: A.Event, metadata: EventMetadata = EventMetadata()) throws {
        var next = state
        try next.apply(event)
        state = next
        pending.append(PendingEvent(event: event, metadata: metadata, id: EventID.random()))
    }

    /// The append that saves the pending events (`nil` when there are none).
    public func appendRequest(codec: EventCodec) throws -> AppendRequest? {
        guard !pending.isEmpty else { return nil }
        let events = try pending.map { try codec.eventData($0.event, metadata: $0.metadata, id: $0.id) }
        return AppendRequest(stream: stream, expectedRevision: exists ? .exact(revision) : .noStream, events: events)
    }

    func markSaved(_ result: AppendResult) {
        revision = result.lastRevision
        exists = true
        pending.removeAll()
    }
}

/// Anything with pending events a ``Repository`` can save in one multi-stream append.
public protocol AggregateChanges: AnyObject {
    /// The append that saves the pending events (`nil` when there are none).
    func appendRequest(codec: EventCodec) throws -> AppendRequest?
    /// Called after a successful save.
    func saved(_ result: AppendResult)
}

extension AggregateRoot: AggregateChanges {
    public func saved(_ result: AppendResult) { markSaved(result) }
}
