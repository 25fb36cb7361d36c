import Foundation
import Strata

/// One change delivered to a subscription: eventbase's `(key, data, meta, event)`.
public struct DocumentChange: Sendable, Hashable {
    /// What happened to the document.
    public enum Kind: String, Sendable, Hashable {
        /// Replaced (or created) by `put` / `insert`.
        case put
        /// Merged by `patch`.
        case patch
        /// Deleted.
        case delete
    }

    /// The event part of a change.
    public struct Event: Sendable, Hashable {
        /// What happened.
        public let type: Kind
        /// The document before the change (`nil` when it did not exist).
        public let oldData: DocumentValue?
        /// When the change was recorded, ISO 8601 UTC with milliseconds.
        public let timestamp: String
    }

    /// The document's key.
    public let key: String
    /// The document after the change; `nil` after a delete.
    public let data: DocumentValue?
    /// The meta after the change; `nil` after a delete.
    public let meta: DocumentMeta?
    /// What happened, the old data and when.
    public let event: Event
    /// Whether `data` matches the subscription's filter. `false` means the document left the
    /// filter's result set: it was deleted, or changed so that it no longer matches (it matched
    /// before). A subscriber keeping a live result list removes the key on `false`.
    public let matches: Bool
}

/// A subscription's changes, in the order the view applied them. Iterate it; it ends when the
/// iterating task is cancelled, when ``cancel()`` is called, or when the store closes. It fails
/// with `StrataError.invalidArgument(_:)` if the subscriber falls more than
/// ``DocumentStoreOptions/subscriptionBufferLimit`` changes behind (changes are never dropped
/// silently).
public struct DocumentSubscription: AsyncSequence, Sendable {
    public typealias Element = DocumentChange
    let stream: AsyncThrowingStream<DocumentChange, any Error>
    let cancelAction: @Sendable () -> Void

    /// Ends the subscription (eventbase's `unsubscribe()`); iteration then finishes.
    public func cancel() { cancelAction() }

    public func makeAsyncIterator() -> AsyncThrowingStream<DocumentChange, any Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }
}
