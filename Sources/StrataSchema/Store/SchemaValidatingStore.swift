import Strata

/// An ``EventStore`` that checks every appended event against an ``EventSchemaSet`` before
/// handing the append to the store it wraps. Everything else is forwarded unchanged.
///
/// An append is refused, with nothing stored, when any event of any request has a type no
/// config declares (``StrataError/invalidEventType(_:reason:)``) or data or metadata that break
/// its schema (``StrataError/schemaViolation(id:type:violations:)``, listing every violation of
/// that event by JSON path). One bad event in a batch, or in any stream of a multi-stream
/// append, refuses the whole append.
///
/// ```swift
/// let store = SchemaValidatingStore(InMemoryEventStore(), schemas: try EventSchemaSet(folder: eventsFolder))
/// try await store.append(to: "user-1", event: EventData(type: "user:created", json: #"{"email":"a@b.c"}"#))
/// ```
public struct SchemaValidatingStore<Base: EventStore>: ForwardingEventStore {
    /// The store that holds the events.
    public let base: Base
    /// The schemas appends are checked against.
    public let schemas: EventSchemaSet

    /// Wraps `base`, checking appends against `schemas`.
    public init(_ base: Base, schemas: EventSchemaSet) {
        self.base = base
        self.schemas = schemas
    }

    public func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        try schemas.check(requests)
        return try await base.append(requests, condition: condition)
    }

    /// Every other operation goes to ``base`` unchanged.
    public var forwardee: any EventStore { base }
}

extension SchemaValidatingStore: MaintainableEventStore where Base: MaintainableEventStore {
    /// Scavenges the wrapped store (no event is appended by a scavenge: nothing to check).
    public func scavenge() async throws -> ScavengeReport {
        try await base.scavenge()
    }

    /// Erases through the wrapped store (its audit event is the store's own, not checked).
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try await base.erase(stream, reason: reason)
    }
}

extension EventSchemaSet {
    /// `store` with every append checked against these schemas: a ``SchemaValidatingStore``
    /// around whatever store it is (it keeps scavenging and erasure when the store has them).
    public func validating(_ store: any EventStore) -> any EventStore {
        func wrap<Base: EventStore>(_ base: Base) -> any EventStore { SchemaValidatingStore(base, schemas: self) }
        return wrap(store)
    }
}
