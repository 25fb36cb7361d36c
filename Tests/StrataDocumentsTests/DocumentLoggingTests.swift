import InMemoryLogging
import Logging
import Strata
import StrataDocuments
import Testing

@Suite("Document view logging")
struct DocumentLoggingTests {
    @Test("a collection's view logs through DocumentStoreOptions.logger: its consumer starts, catches up and stops")
    func viewLogs() async throws {
        let log = InMemoryLogHandler()
        let store = InMemoryEventStore()
        let users = try await DocumentStore.open(store: store, collection: "users",
                                                 options: DocumentStoreOptions(logger: Logger(label: "test") { _ in log }))
        _ = try await users.put("ada", ["name": "Ada"])
        try await users.close()
        let entries = log.entries.map { ("\($0.message)", "\($0.metadata["consumer"].map { "\($0)" } ?? "")") }
        #expect(entries.contains { $0 == ("consumer started", "documents-users") }, "\(entries)")
        #expect(entries.contains { $0 == ("consumer caught up", "documents-users") })
        #expect(entries.last?.0 == "consumer stopped")
        try await store.close()
    }
}
