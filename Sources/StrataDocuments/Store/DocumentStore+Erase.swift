import Foundation
import Strata

extension DocumentStore {
    /// Erases a document for good (the right to erasure): its stream is erased from the store
    /// (every event's data and the stream's metadata leave the store, the stream is tombstoned,
    /// and `$erasures` records the erasure: docs/CONTRACT.md, "Scavenging and erasure"), the
    /// document leaves this instance's view, and the view's snapshot file is rewritten without it.
    ///
    /// Dotdo-shaped snapshot files hold copies too: erase the key from them with
    /// ``DocumentSnapshots/erase(collection:key:)``. A CDC collection's change stream also holds
    /// copies of the document's versions; other instances of the collection drop the document
    /// when they reopen (their views rebuild without it).
    ///
    /// - Throws: `StrataError.unsupported` when the store cannot erase (memory, JetStream);
    ///   `StrataError.streamNotFound` when the key was never written.
    @discardableResult
    public func erase(_ key: String, reason: String) async throws -> ErasureReport {
        let (key, stream) = try prepare(key)
        guard let store = store as? any MaintainableEventStore else {
            throw StrataError.unsupported("erasure: this document collection's store cannot erase streams")
        }
        let report = try await store.erase(stream, reason: reason)
        view.forget(key, timeMs: Int64(Date().timeIntervalSince1970 * 1000))
        checkpoints.saveSnapshot()
        return report
    }
}
