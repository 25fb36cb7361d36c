import Foundation
import Strata
import StrataDocuments

/// A fresh scratch folder path under the temporary directory.
func scratchDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "strata-documents-\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Opens a collection on `store` with the given options.
func openUsers(_ store: any EventStore, _ options: DocumentStoreOptions = DocumentStoreOptions(),
               collection: String = "users") async throws -> DocumentStore {
    try await DocumentStore.open(store: store, collection: collection, options: options, timeout: .seconds(30))
}

/// Collects the next `count` changes of a subscription, failing after `timeout`.
func nextChanges(_ subscription: DocumentSubscription, _ count: Int, timeout: Duration = .seconds(10)) async throws -> [DocumentChange] {
    try await withThrowingTaskGroup(of: [DocumentChange]?.self) { group in
        group.addTask {
            var result: [DocumentChange] = []
            for try await change in subscription {
                result.append(change)
                if result.count == count { break }
            }
            return result
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let result = first else { throw StrataError.timedOut("waiting for \(count) changes") }
        return result
    }
}

/// Bounded polling of a condition (for effects that arrive through another instance's view).
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(5))
    }
    throw StrataError.timedOut(what)
}
