import Foundation
import Strata

extension LogEventStore: MaintainableEventStore {
    /// Rewrites sealed segments without the events no read can return (docs/FORMAT.md,
    /// "Scavenging"; docs/OPERATIONS.md, "Reclaiming space"). Online: appends and reads go on.
    public func scavenge() async throws -> ScavengeReport {
        try engine.refuseIfReadOnly()
        return try await engine.scavenge()
    }

    /// Erases a stream: clears its metadata, tombstones it, appends the audit event to
    /// `$erasures`, then scavenges every record of the stream out of the log and forgets its
    /// metadata (docs/CONTRACT.md, "Erasure").
    public func erase(_ stream: String, reason: String) async throws -> ErasureReport {
        try Erasure.validate(stream)
        try engine.refuseIfReadOnly()
        try engine.checkUsable()
        let info = try engine.streamInfo(stream)
        try Erasure.checkKnown(info)
        if !info.isTombstoned {
            // The metadata may hold personal data: clear it before the tombstone (which freezes it).
            if !info.metadata.isEmpty { _ = try await engine.submit(.setMetadata(stream: stream, metadata: StreamMetadata())) }
            _ = try await engine.submit(.delete(stream: stream, expected: .any, mode: .tombstone))
        }
        let audit = AppendRequest(stream: Erasure.auditStream, events: [Erasure.auditEvent(stream: stream, lastRevision: info.lastRevision, reason: reason)])
        let results = try await engine.submit(.append([audit], condition: nil))
        let report = try await engine.scavenge(erasing: [stream])
        return ErasureReport(stream: stream, eventsErased: report.eventsRemoved, auditPosition: results.first?.lastPosition ?? 0)
    }
}
