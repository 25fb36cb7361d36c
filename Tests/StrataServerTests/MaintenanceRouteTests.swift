import Foundation
import Strata
import StrataClient
import StrataLog
import StrataServer
import StrataTestSupport
import Testing

/// `POST /scavenge` and `POST /streams/{stream}/erase` (issue 17; docs/SERVER.md).
@Suite("scavenging and erasure over HTTP")
struct MaintenanceRouteTests {
    static let admin = APIKey(name: "admin", key: "admin-key-0123456789", scopes: [.admin])
    static let writer = APIKey(name: "writer", key: "writer-key-0123456789", scopes: [.read, .write])

    @Test("an admin key scavenges and erases through the client; a write key is refused; a store that cannot scavenge answers 501")
    func scavengeAndErase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try LogEventStore(directory: directory.path)
        let server = try await TestServer(store: store, configuration: ServerConfiguration(port: 0, apiKeys: [Self.admin, Self.writer]))
        let admin = try RemoteEventStore(url: server.baseURL, apiKey: Self.admin.key!)
        let writer = try RemoteEventStore(url: server.baseURL, apiKey: Self.writer.key!)
        try await writer.append(to: "keep", events: [EventData(type: "e", json: "{}")])
        try await writer.append(to: "gone", events: [EventData(type: "e", json: "{}"), EventData(type: "e", json: "{}")])
        try await writer.append(to: "person-1", events: [EventData(type: "e", json: #"{"name":"Ada"}"#)])
        try await writer.deleteStream("gone", expectedRevision: .any, mode: .tombstone)

        do {
            _ = try await writer.scavenge()
            Issue.record("a write key scavenged")
        } catch let error as StrataClientError {
            #expect(error.status == 403, "\(error)")
        }
        let report = try await admin.scavenge()
        #expect(report.eventsRemoved == 2)
        #expect(try await admin.readAll().collect().map(\.stream) == ["keep", "person-1"])
        let erased = try await admin.erase("person-1", reason: "ticket 5")
        #expect(erased.stream == "person-1" && erased.eventsErased == 1)
        #expect(try await admin.readAll().collect().map(\.stream) == ["keep", Erasure.auditStream])
        #expect(try await admin.streamInfo("person-1").isTombstoned)
        try await admin.close()
        try await writer.close()
        await server.stop()
        try await store.close()

        let memory = try await TestServer(store: InMemoryEventStore())
        let client = try RemoteEventStore(url: memory.baseURL)
        await #expect(throws: StrataError.unsupported("scavenging and erasure: this server's store cannot reclaim space or erase streams")) {
            _ = try await client.scavenge()
        }
        try await client.close()
        await memory.stop()
    }
}
