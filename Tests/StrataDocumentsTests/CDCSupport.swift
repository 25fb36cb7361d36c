import Foundation
import Strata
import StrataDocuments
import StrataLog
import StrataSQLite

/// The backends the CDC, snapshot and point-in-time tests run over.
enum CDCBackend: String, CaseIterable, Sendable {
    case log
    case sqlite

    /// Runs `body` with a fresh store of this kind in a scratch folder, closing it afterwards.
    func withStore<T>(_ name: String, _ body: (any EventStore, String) async throws -> T) async throws -> T {
        let directory = scratchDirectory(name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        switch self {
        case .log:
            let store = try LogEventStore(directory: directory + "/log", configuration: LogConfiguration(durability: .none))
            do {
                let result = try await body(store, directory)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        case .sqlite:
            let store = try SQLiteEventStore(path: directory + "/events.db", configuration: SQLiteConfiguration(synchronous: .off))
            do {
                let result = try await body(store, directory)
                try await store.close()
                return result
            } catch {
                try? await store.close()
                throw error
            }
        }
    }
}

/// Every live document of a collection by key (data and meta), as its view shows it now.
func observedState(_ documents: DocumentStore) throws -> [String: Document] {
    Dictionary(uniqueKeysWithValues: try documents.query([:]).map { ($0.key, $0) })
}
