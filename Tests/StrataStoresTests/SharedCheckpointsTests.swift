import Foundation
import Strata
import StrataConsumers
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
        let shared = try #require(try StoreRegistry.sharedCheckpoints(of: Decorated(forwardee: Decorated(forwardee: sqlite))))
        let checkpoints = try #require(shared as? SQLiteCheckpointStore)
        #expect(checkpoints.path == path)
        try await checkpoints.resetCheckpoint(for: "c", to: 0)
        #expect(try await SQLiteCheckpointStore(path: path).checkpoint(for: "c") == 0)
        try await checkpoints.close()
        try await sqlite.close()

        #expect(try StoreRegistry.sharedCheckpoints(of: InMemoryEventStore()) == nil)
        let log = try await registry.open("file:" + directory.path + "/log", access: .create)
        #expect(try StoreRegistry.sharedCheckpoints(of: log) == nil)
        try await log.close()
    }
}
