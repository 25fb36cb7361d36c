import Foundation
import Strata
import StrataDocuments
import StrataLog
import StrataSQLite
import StrataTestSupport
import Synchronization

/// The backends the CDC, snapshot and point-in-time tests run over.
enum CDCBackend: String, CaseIterable, Sendable {
    case log
    case sqlite

    /// Runs `body` with a fresh store of this kind in a scratch folder, closing it afterwards.
    func withStore<T>(_ name: String, _ body: (any EventStore, String) async throws -> T) async throws -> T {
        let directory = try TemporaryDirectory("documents-" + name).path
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

/// A store whose `$all` reads stop at a gate while it is closed, so that a collection's view is
/// deterministically behind the store; the first append refused for a wrong expected revision
/// opens the gate (the writer then catches up).
final class GatedStore: ForwardingEventStore {
    let inner: InMemoryEventStore
    private let gate = Mutex<UInt64?>(nil)
    /// Appends refused with `wrongExpectedRevision`.
    let refusals = Mutex(0)

    init(_ inner: InMemoryEventStore) { self.inner = inner }

    var forwardee: any EventStore { inner }

    /// Hides every event after the current head from `$all` reads until a refused append.
    func close() async throws {
        let head = try await inner.headPosition()
        gate.withLock { $0 = head }
    }

    func append(_ requests: [AppendRequest], condition: AppendCondition?) async throws -> [AppendResult] {
        do {
            return try await inner.append(requests, condition: condition)
        } catch let error as StrataError {
            if case .wrongExpectedRevision = error {
                refusals.withLock { $0 += 1 }
                gate.withLock { $0 = nil }
            }
            throw error
        }
    }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        let page = try await inner.readAllPage(from: origin, direction: direction, filter: filter, maxCount: maxCount)
        guard let limit = gate.withLock({ $0 }), direction == .forward else { return page }
        let kept = page.events.filter { $0.position <= limit }
        if kept.count == page.events.count, page.scannedThrough <= limit { return page }
        return AllPage(events: kept, next: nil, scannedThrough: min(page.scannedThrough, limit))
    }

    func waitForAppends(after position: UInt64) async throws {
        if gate.withLock({ $0 }) != nil { try await Task.sleep(for: .milliseconds(1)) }
        try await inner.waitForAppends(after: position)
    }
}
