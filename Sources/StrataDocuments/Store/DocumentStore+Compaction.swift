import Foundation
import Strata

/// What ``DocumentStore/compact(keepVersions:dropTombstonesOlderThan:)`` did.
public struct CompactionReport: Sendable, Hashable {
    /// Documents whose streams were cut down to their last versions.
    public var compacted = 0
    /// Deleted documents whose streams were removed.
    public var tombstonesDropped = 0
    /// Documents left alone because they were written during compaction (run it again later).
    public var skipped = 0

    /// Creates a report.
    public init(compacted: Int = 0, tombstonesDropped: Int = 0, skipped: Int = 0) {
        self.compacted = compacted
        self.tombstonesDropped = tombstonesDropped
        self.skipped = skipped
    }
}

extension DocumentStore {
    /// Drops old versions of documents and old tombstones, without changing any read.
    ///
    /// - For each document whose stream holds more than `keepVersions` events, a
    ///   `document.snapshot` event restating its data and meta is appended (with an exact
    ///   expected revision, so a concurrent write wins and the document is skipped), then the
    ///   stream's `truncateBefore` hides all but the snapshot and the `keepVersions - 1` events
    ///   before it. Stream reads (history) get shorter; the view and its meta do not change.
    ///   On a backend whose retention drops old `$all` events, a fresh replay then still finds
    ///   every compacted document in its snapshot event.
    /// - For each document deleted longer than `dropTombstonesOlderThan` ago (by the recorded
    ///   time of its delete), a `document.purged` event is appended and the stream is
    ///   soft-deleted: the key no longer appears anywhere but `$all`, and the view forgets it.
    ///
    /// - Throws: `StrataError.invalidArgument(_:)` when `keepVersions` is below 1.
    @discardableResult
    public func compact(keepVersions: Int = 1, dropTombstonesOlderThan: Duration? = nil) async throws -> CompactionReport {
        guard keepVersions >= 1 else { throw StrataError.invalidArgument("keepVersions must be at least 1") }
        try await sync()
        var report = CompactionReport()
        let entries = view.withLock { view.entries.map { (key: $0.key, entry: $0.value) } }
        let cutoffMs = dropTombstonesOlderThan.map { age -> Int64 in
            let ageMs = age.components.seconds * 1000 + age.components.attoseconds / 1_000_000_000_000_000
            return currentMicroseconds() / 1000 - ageMs
        }
        for (key, entry) in entries {
            try checkOpen()
            let stream = try DocumentNaming.stream(collection: collection, key: key)
            if entry.live {
                guard entry.revision > UInt64(keepVersions) else { continue }
                let info = try await store.streamInfo(stream)
                guard info.eventCount > keepVersions else { continue }
                let snapshot = DocumentEvents.encode(key: key, .snapshot(entry.data, changes: entry.changes,
                                                                         created: entry.createdMs, modified: entry.modifiedMs))
                let result: AppendResult
                do {
                    result = try await store.append(to: stream, expectedRevision: .exact(entry.revision), events: [snapshot])
                } catch StrataError.wrongExpectedRevision {
                    report.skipped += 1
                    continue
                }
                var metadata = info.metadata
                metadata.truncateBefore = result.lastRevision - UInt64(keepVersions) + 1
                try await store.setStreamMetadata(stream, metadata)
                report.compacted += 1
            } else if let cutoffMs, entry.modifiedMs <= cutoffMs {
                let result: AppendResult
                do {
                    result = try await store.append(to: stream, expectedRevision: .exact(entry.revision),
                                                    events: [DocumentEvents.encode(key: key, .purged)])
                } catch StrataError.wrongExpectedRevision {
                    report.skipped += 1
                    continue
                }
                do {
                    try await store.deleteStream(stream, expectedRevision: .exact(result.lastRevision), mode: .soft)
                    report.tombstonesDropped += 1
                } catch StrataError.wrongExpectedRevision {
                    report.skipped += 1
                }
            }
        }
        try await sync()
        return report
    }

    /// The versions of a document its stream still holds (oldest first), as
    /// `(type, data or patch)`: history for audits and for checking compaction.
    public func history(_ key: String) async throws -> [(type: String, revision: UInt64, payload: DocumentValue)] {
        try checkOpen()
        let key = try DocumentNaming.normalizeKey(key)
        let stream = try DocumentNaming.stream(collection: collection, key: key)
        var result: [(type: String, revision: UInt64, payload: DocumentValue)] = []
        do {
            for try await event in store.readStream(stream) {
                result.append((event.type, event.revision, try DocumentValue.parse(event.data)))
            }
        } catch StrataError.streamNotFound {
            return []
        }
        return result
    }
}
