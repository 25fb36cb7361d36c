import Foundation
import Strata
import StrataModel
import Testing

@Suite("Typed events, upcasters and reducers")
struct TypedEventTests {
    let codec = EventCodec(registry: EventRegistry([UserCreated.self, UserEmailSet.self]))

    @Test("reducing user:created then user:email-set gives the seed's state; an empty stream gives nil")
    func seedReducer() async throws {
        let store = InMemoryEventStore()
        let repository = Repository(store: store, codec: codec)
        #expect(try await repository.reduce(stream: "user-1", using: userReducer) == nil)
        try await store.append(to: "user-1", events: [
            try codec.eventData(UserCreated(name: Name(given: "Jane", family: "Doe"), email: "jane@doe.test")),
            try codec.eventData(UserEmailSet(email: "jane@fastmail.test")),
        ])
        let state = try #require(try await repository.reduce(stream: "user-1", using: userReducer))
        #expect(state == UserState(name: "Jane Doe", email: "jane@fastmail.test"))
    }

    @Test("a filtered $all reduce folds matching events in position order and skips other types")
    func filteredReduce() async throws {
        let store = InMemoryEventStore()
        try await store.append(to: "user-1", events: [try codec.eventData(UserCreated(name: Name(given: "A", family: "B"), email: "a@x"))])
        try await store.append(to: "other-1", events: [EventData(type: "noise", json: "{}")])
        try await store.append(to: "user-2", events: [try codec.eventData(UserEmailSet(email: "z@x"))])
        let repository = Repository(store: store, codec: codec)
        let state = try await repository.reduce(filter: EventFilter(streamPrefixes: ["user-"]), using: userReducer)
        #expect(state == UserState(name: "A B", email: "z@x"))
        #expect(try await repository.reduce(filter: EventFilter(streamPrefixes: ["nobody-"]), using: userReducer) == nil)
    }

    @Test("metadata round-trips typed fields, tags and custom fields; tags drive conditional appends")
    func metadata() async throws {
        let store = InMemoryEventStore()
        let meta = EventMetadata(actor: "user-9", auditor: "admin", correlationId: "c-1", causationId: "e-0",
                                 tags: ["user:1"], custom: ["ip": "10.0.0.1", "attempt": 2])
        try await store.append(to: "user-1", events: [try codec.eventData(UserEmailSet(email: "a@x"), metadata: meta)])
        let recorded = try #require(try await store.readStreamPage("user-1", from: .start, direction: .forward, maxCount: 1).events.first)
        let envelope = try #require(try codec.decode(recorded, as: UserEmailSet.self))
        #expect(envelope.metadata == meta)
        #expect(recorded.tags == ["user:1"])
        let conflicting = AppendCondition(failIfEventsMatch: EventQuery(tags: ["user:1"]), after: 0)
        await #expect(throws: StrataError.self) {
            try await store.append([AppendRequest(stream: "user-1", events: [try codec.eventData(UserEmailSet(email: "b@x"))])],
                                   condition: conflicting)
        }
    }

    @Test("an upcaster turns a version-1 payload into the current shape; reads see version 2")
    func upcasting() async throws {
        let store = InMemoryEventStore()
        // A version-1 event as an older build stored it: the name was one string.
        try await store.append(to: "user-1", events: [EventData(type: "user:created", json: #"{"name":"Ada Lovelace","email":"ada@x"}"#)])
        let upcaster = Upcaster(type: "user:created", from: 1) { payload in
            let parts = (payload["name"]?.stringValue ?? "").split(separator: " ").map(String.init)
            payload[member: "name"] = ["given": .string(parts.first ?? ""), "family": .string(parts.dropFirst().joined(separator: " "))]
        }
        let upcasting = EventCodec(registry: codec.registry, upcasters: [upcaster])
        let state = try await Repository(store: store, codec: upcasting).reduce(stream: "user-1", using: userReducer)
        #expect(state == UserState(name: "Ada Lovelace", email: "ada@x"))
        // Current events carry eventVersion 2 and are not upcast again.
        try await store.append(to: "user-2", events: [try upcasting.eventData(UserCreated(name: Name(given: "G", family: "H"), email: "g@x"))])
        let fresh = try await Repository(store: store, codec: upcasting).reduce(stream: "user-2", using: userReducer)
        #expect(fresh == UserState(name: "G H", email: "g@x"))
        // Without the upcaster the old shape fails, naming position, type and field.
        do {
            _ = try await Repository(store: store, codec: codec).reduce(stream: "user-1", using: userReducer)
            Issue.record("decoding a version-1 payload as version 2 succeeded")
        } catch let StrataError.eventDecodingFailed(position, type, field, _) {
            #expect(position == 1)
            #expect(type == "user:created")
            #expect(field == "name")
        }
    }

    @Test("a decoding failure deep in the payload names the nested field")
    func nestedDecodingFailure() async throws {
        let store = InMemoryEventStore()
        try await store.append(to: "user-1", events: [EventData(type: "user:created", json: #"{"name":{"given":"A","family":7},"email":"a@x"}"#)])
        #expect(throws: StrataError.eventDecodingFailed(position: 1, type: "user:created", field: "name.family", reason: "expected String")) {
            let recorded = RecordedEvent(id: UUID(), stream: "user-1", revision: 1, position: 1, recordedAtMicroseconds: 0,
                                         type: "user:created", data: Data(#"{"name":{"given":"A","family":7},"email":"a@x"}"#.utf8), metadata: nil)
            _ = try codec.decode(recorded, as: UserEvents.self)
        }
    }

    @Test("AnyDomainEvent decodes every registered type and skips unregistered ones")
    func registry() throws {
        let data = try codec.eventData(UserEmailSet(email: "q@x"))
        let recorded = RecordedEvent(id: data.id, stream: "s", revision: 1, position: 1, recordedAtMicroseconds: 0,
                                     type: data.type, data: data.data, metadata: data.metadata)
        let any = try #require(try codec.decode(recorded, as: AnyDomainEvent.self))
        #expect((any.event.value as? UserEmailSet) == UserEmailSet(email: "q@x"))
        let unknown = RecordedEvent(id: UUID(), stream: "s", revision: 2, position: 2, recordedAtMicroseconds: 0,
                                    type: "nobody:knows", data: Data("{}".utf8), metadata: nil)
        #expect(try codec.decode(unknown, as: AnyDomainEvent.self) == nil)
        #expect(codec.registry.typeNames == ["user:created", "user:email-set"])
    }
}
