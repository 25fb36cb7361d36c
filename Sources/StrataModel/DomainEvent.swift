import Foundation
import Strata
import StrataJSON

/// A domain event: a Codable value with a stable type name.
///
/// ```swift
/// struct UserCreated: DomainEvent {
///     static let eventType = "user:created"
///     var name: String
///     var email: String
/// }
/// ```
/// The type name is what the store records; keep it stable when the Swift type is renamed.
/// Raise ``eventVersion`` when the payload's shape changes, and register an ``Upcaster`` that
/// turns the older shape into the new one.
public protocol DomainEvent: EventSet, Codable {
    /// The type name stored with the event.
    static var eventType: String { get }
    /// The version of the payload's shape (1 by default).
    static var eventVersion: Int { get }
}

extension DomainEvent {
    public static var eventVersion: Int { 1 }
    public static var eventTypes: [String] { [eventType] }
    public var eventType: String { Self.eventType }

    public static func decode(type: String, payload: Data, codec: EventCodec) throws -> Self? {
        guard type == eventType else { return nil }
        return try codec.decodePayload(Self.self, from: payload)
    }

    public func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data) {
        (Self.eventType, Self.eventVersion, try codec.encodePayload(self))
    }
}

/// A set of event types decoded into one Swift type: a single ``DomainEvent``, an enum over
/// several (what `strata codegen` generates), or ``AnyDomainEvent`` (every registered type).
/// Reducers, aggregates and projectors are generic over it; events of other types are skipped.
public protocol EventSet: Sendable {
    /// The type names this set decodes (empty: decided at run time, as by ``AnyDomainEvent``).
    static var eventTypes: [String] { get }
    /// Decodes a (current-shape) payload of type `type`, or returns `nil` when the type is not
    /// part of the set.
    static func decode(type: String, payload: Data, codec: EventCodec) throws -> Self?
    /// The stored type name, version and payload bytes of this event.
    func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data)
}

/// Any event whose type is registered with the codec's ``EventRegistry``.
public struct AnyDomainEvent: EventSet {
    /// The decoded event.
    public let value: any DomainEvent

    /// Wraps an event.
    public init(_ value: any DomainEvent) { self.value = value }

    public static var eventTypes: [String] { [] }

    public static func decode(type: String, payload: Data, codec: EventCodec) throws -> AnyDomainEvent? {
        guard let eventType = codec.registry.type(named: type) else { return nil }
        return AnyDomainEvent(try codec.decodePayload(eventType, from: payload))
    }

    public func encodePayload(codec: EventCodec) throws -> (type: String, version: Int, data: Data) {
        try value.encodePayload(codec: codec)
    }
}

/// A decoded event with its place in the store.
public struct Envelope<Event: Sendable>: Sendable {
    /// The decoded event, in its current shape.
    public var event: Event
    /// The event id.
    public var id: UUID
    /// The stored type name (after upcasting).
    public var type: String
    /// The stream.
    public var stream: String
    /// The revision in the stream (1-based).
    public var revision: UInt64
    /// The `$all` position (1-based).
    public var position: UInt64
    /// When it was recorded, in microseconds since 1970 (UTC).
    public var recordedAtMicroseconds: Int64
    /// The raw metadata bytes.
    public var rawMetadata: Data?

    /// Creates an envelope.
    public init(event: Event, id: UUID, type: String, stream: String, revision: UInt64, position: UInt64,
                recordedAtMicroseconds: Int64, rawMetadata: Data?) {
        self.event = event
        self.id = id
        self.type = type
        self.stream = stream
        self.revision = revision
        self.position = position
        self.recordedAtMicroseconds = recordedAtMicroseconds
        self.rawMetadata = rawMetadata
    }

    /// When it was recorded.
    public var recordedAt: Date { Date(timeIntervalSince1970: Double(recordedAtMicroseconds) / 1_000_000) }

    /// The typed metadata, decoded on each access (empty metadata when there is none or it is
    /// not an object).
    public var metadata: EventMetadata {
        guard let rawMetadata, !rawMetadata.isEmpty else { return EventMetadata() }
        return (try? StrataJSONDecoder().decode(EventMetadata.self, from: rawMetadata)) ?? EventMetadata()
    }
}

/// Maps stored type names to Swift types, for ``AnyDomainEvent`` and for validation of what an
/// application appends.
public struct EventRegistry: Sendable {
    private var types: [String: any DomainEvent.Type] = [:]

    /// A registry of these types.
    /// - Precondition: no two types share a type name.
    public init(_ types: [any DomainEvent.Type] = []) {
        for type in types { register(type) }
    }

    /// Adds a type.
    /// - Precondition: its type name is not registered to another Swift type.
    public mutating func register(_ type: any DomainEvent.Type) {
        if let existing = types[type.eventType] {
            precondition(existing == type, "event type \"\(type.eventType)\" is registered twice: \(existing) and \(type)")
        }
        types[type.eventType] = type
    }

    /// The Swift type of a stored type name.
    public func type(named name: String) -> (any DomainEvent.Type)? { types[name] }

    /// Every registered type name, sorted.
    public var typeNames: [String] { types.keys.sorted() }
}
