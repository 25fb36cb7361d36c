import Foundation
import Strata
import StrataSchema
import Testing

/// `SchemaValidatingStore`: appends are checked before anything is stored.
@Suite("schema-validating store")
struct SchemaValidatingStoreTests {
    /// The seed README's `user:created` config, and `user:email-set`.
    static func seedSchemas() throws -> EventSchemaSet {
        try EventSchemaSet(files: [
            "user-created.json": #"""
                {"event": {"type": "user:created",
                           "data": {"name": {"type": "object", "properties": {"given": {"type": "string"}, "family": {"type": "string"}}},
                                    "email": {"type": "string"}},
                           "meta": {"auditor": {"type": "string"}}}}
                """#,
            "user-email-set.json": #"{"event": {"type": "user:email-set", "data": {"email": {"type": "string"}}, "meta": {"auditor": {"type": "string"}}}}"#,
        ])
    }

    static func created(_ data: String) -> EventData {
        EventData(type: "user:created", json: data, metadata: #"{"auditor":"admin"}"#)
    }

    static let good = #"{"name":{"given":"Jane","family":"Doe"},"email":"jane@doe.com"}"#

    @Test("the seed's familys typo fails validation and stores nothing")
    func familysTypo() async throws {
        let memory = InMemoryEventStore()
        let store = SchemaValidatingStore(memory, schemas: try Self.seedSchemas())
        let typo = Self.created(#"{"name":{"given":"Jane","familys":"Doe"},"email":"jane@doe.com"}"#)
        do {
            try await store.append(to: "user-1", event: typo)
            Issue.record("the append succeeded")
        } catch let error as StrataError {
            #expect(error == .schemaViolation(id: typo.id.uuidString, type: "user:created", violations: [
                "$.data.name.familys: property is not allowed (additionalProperties is false)",
                "$.data.name.family: required property is missing",
            ]))
            #expect(error.description.contains("$.data.name.familys"))
        }
        #expect(try await memory.headPosition() == 0)
        #expect(try await memory.streamInfo("user-1").exists == false)

        let ok = try await store.append(to: "user-1", event: Self.created(Self.good))
        #expect(ok.lastPosition == 1)
        #expect(try await store.readStream("user-1").collect().map(\.type) == ["user:created"])
    }

    @Test("a batch with one bad event stores none of it")
    func badBatch() async throws {
        let memory = InMemoryEventStore()
        let store = SchemaValidatingStore(memory, schemas: try Self.seedSchemas())
        let bad = EventData(type: "user:email-set", json: #"{"email":42}"#, metadata: #"{"auditor":"admin"}"#)
        await #expect(throws: StrataError.schemaViolation(id: bad.id.uuidString, type: "user:email-set",
                                                          violations: ["$.data.email: expected string, got integer"])) {
            try await store.append(to: "user-1", events: [Self.created(Self.good), bad, Self.created(Self.good)])
        }
        #expect(try await memory.headPosition() == 0)
    }

    @Test("a multi-stream append with one bad event in any stream stores nothing")
    func badMultiStream() async throws {
        let memory = InMemoryEventStore()
        let store = SchemaValidatingStore(memory, schemas: try Self.seedSchemas())
        let missingMeta = EventData(type: "user:email-set", json: #"{"email":"a@b.c"}"#)
        await #expect(throws: StrataError.schemaViolation(id: missingMeta.id.uuidString, type: "user:email-set",
                                                          violations: ["$.meta.auditor: required property is missing"])) {
            try await store.append([
                AppendRequest(stream: "user-1", events: [Self.created(Self.good)]),
                AppendRequest(stream: "user-2", events: [Self.created(Self.good), missingMeta]),
            ])
        }
        #expect(try await memory.headPosition() == 0)
        let results = try await store.append([
            AppendRequest(stream: "user-1", events: [Self.created(Self.good)]),
            AppendRequest(stream: "user-2", expectedRevision: .noStream, events: [Self.created(Self.good)]),
        ])
        #expect(results.map(\.lastPosition) == [1, 2])
    }

    @Test("an unknown type, or data that is not JSON, is refused")
    func unknownTypeAndContentType() async throws {
        let memory = InMemoryEventStore()
        let store = SchemaValidatingStore(memory, schemas: try Self.seedSchemas())
        await #expect(throws: StrataError.invalidEventType("user:deleted", reason: "no event schema declares this type")) {
            try await store.append(to: "user-1", event: EventData(type: "user:deleted", json: "{}"))
        }
        let binary = EventData(type: "user:email-set", data: Data([1, 2]), contentType: .binary, metadata: Data(#"{"auditor":"a"}"#.utf8))
        await #expect(throws: StrataError.schemaViolation(id: binary.id.uuidString, type: "user:email-set",
                                                          violations: ["$.data: content type is application/octet-stream; events with a schema must be application/json"])) {
            try await store.append(to: "user-1", event: binary)
        }
        let notJSON = EventData(type: "user:email-set", json: "{email}", metadata: #"{"auditor":"a"}"#)
        await #expect(throws: StrataError.self) { try await store.append(to: "user-1", event: notJSON) }
        #expect(try await memory.headPosition() == 0)
    }

    @Test("everything else is forwarded to the wrapped store, and the store's own rules still apply")
    func forwarding() async throws {
        let memory = InMemoryEventStore()
        let store = SchemaValidatingStore(memory, schemas: try Self.seedSchemas())
        try await store.append(to: "user-1", expectedRevision: .noStream, event: Self.created(Self.good))
        await #expect(throws: StrataError.wrongExpectedRevision(stream: "user-1", expected: .noStream, actual: 1)) {
            try await store.append(to: "user-1", expectedRevision: .noStream, event: Self.created(Self.good))
        }
        #expect(try await store.headPosition() == 1)
        #expect(try await store.streamInfo("user-1").lastRevision == 1)
        #expect(try await store.listStreams().collect() == ["user-1"])
        #expect(try await store.readAll().collect().count == 1)
        #expect(try await store.stats() == memory.stats())
        try await store.deleteStream("user-1", expectedRevision: .any, mode: .soft)
        await #expect(throws: StrataError.streamNotFound("user-1")) { try await store.readStream("user-1").collect() }
        try await store.close()
        await #expect(throws: StrataError.self) { try await memory.headPosition() }
    }
}
