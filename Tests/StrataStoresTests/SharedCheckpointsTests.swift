import Foundation
import Strata
import StrataConsumers
import StrataPostgres
import StrataSQLite
import StrataStores
import StrataTestSupport
import Testing

@Suite("The checkpoint store beside a store's events")
struct SharedCheckpointsTests {
    /// A decorator, as tracing and schema validation are.
    struct Decorated: ForwardingEventStore {
        let forwardee: any EventStore
    }

    @Test("a SQLite store's is a SQLiteCheckpointStore on its file, found through decorators; memory and log stores keep none")
    func sharedCheckpoints() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let registry = StoreRegistry.standard(environment: [:])
        let path = directory.path + "/events.db"
        let sqlite = try await registry.open("sqlite:" + path, access: .create)
        let shared = try #require(try await StoreRegistry.sharedCheckpoints(of: Decorated(forwardee: Decorated(forwardee: sqlite))))
        let checkpoints = try #require(shared as? SQLiteCheckpointStore)
        #expect(checkpoints.path == path)
        try await checkpoints.resetCheckpoint(for: "c", to: 0)
        #expect(try await SQLiteCheckpointStore(path: path).checkpoint(for: "c") == 0)
        try await checkpoints.close()
        try await sqlite.close()

        #expect(try await StoreRegistry.sharedCheckpoints(of: InMemoryEventStore()) == nil)
        let log = try await registry.open("file:" + directory.path + "/log", access: .create)
        #expect(try await StoreRegistry.sharedCheckpoints(of: log) == nil)
        try await log.close()
    }

    @Test("a PostgreSQL store's is a PostgresCheckpointStore in its schema, where persistent subscription groups are defined",
          .enabled(if: ProcessInfo.processInfo.environment["STRATA_TEST_POSTGRES_URL"]?.isEmpty == false))
    func postgres() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["STRATA_TEST_POSTGRES_URL"])
        let schema = "t_shared_" + UUID().uuidString.prefix(8).lowercased()
        let store = try await StoreRegistry.standard(environment: [:]).open(url + "?schema=\(schema)&sslmode=disable", access: .create)
        do {
            let shared = try #require(try await StoreRegistry.sharedCheckpoints(of: Decorated(forwardee: store)))
            #expect(shared is PostgresCheckpointStore)
            let name = PersistentSubscriptionName(stream: "orders", group: "billing")
            // Leases far longer than the test: nothing here renews them (no start()), and a loaded machine is slow.
            let registry = PersistentSubscriptions(store: store, checkpoints: shared, instance: "http://a.invalid", leaseDuration: .seconds(600))
            try await registry.create(name, settings: PersistentSubscriptionSettings())
            let other = PersistentSubscriptions(store: store, checkpoints: PostgresCheckpointStore(store: try #require(store as? PostgresEventStore)),
                                                instance: "http://b.invalid", leaseDuration: .seconds(600))
            #expect(try await other.list().map(\.name) == [name])
            await #expect(throws: PersistentSubscriptionError.ownedElsewhere(name, owner: "http://a.invalid")) { _ = try await other.subscription(name) }
            try await registry.delete(name)
            await registry.stop()
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}
