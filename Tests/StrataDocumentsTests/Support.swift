import Foundation
import Strata
import StrataDocuments
import StrataTestSupport

/// Opens a collection on `store` with the given options.
func openUsers(_ store: any EventStore, _ options: DocumentStoreOptions = DocumentStoreOptions(),
               collection: String = "users") async throws -> DocumentStore {
    try await DocumentStore.open(store: store, collection: collection, options: options, timeout: .seconds(30))
}

/// Collects the next `count` changes of a subscription, failing after `timeout`.
func nextChanges(_ subscription: DocumentSubscription, _ count: Int, timeout: Duration = .seconds(10)) async throws -> [DocumentChange] {
    try await Wait.within(timeout, "\(count) changes") {
        var result: [DocumentChange] = []
        for try await change in subscription {
            result.append(change)
            if result.count == count { break }
        }
        return result
    }
}


