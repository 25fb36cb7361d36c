import Foundation
internal import StrataJSON

/// A store that can reclaim the space of events no read can return any more, and erase a
/// stream's data for good (docs/CONTRACT.md, "Scavenging and erasure").
///
/// ```swift
/// if let store = store as? any MaintainableEventStore {
///     let report = try await store.scavenge()
///     print(report.eventsRemoved, report.bytesReclaimed)
///     try await store.erase("customer-42", reason: "GDPR request 2026-118")
/// }
/// ```
///
/// The embedded log, SQLite and PostgreSQL stores conform, and so does the HTTP client when the
/// server's store does.
public protocol MaintainableEventStore: EventStore {
    /// Removes from storage every event that no stream read can return when the scavenge starts:
    /// events of tombstoned streams, soft-deleted revisions, and revisions that the stream's
    /// metadata hides (`maxCount`, `truncateBefore`, `maxAge`). Runs online: appends and reads go
    /// on meanwhile.
    ///
    /// Afterwards `$all` no longer holds those events and their positions are gone for good
    /// (positions stay strictly increasing and are never reused); stream reads, stream info and
    /// expected-revision checks are unchanged, since they hid those events already.
    func scavenge() async throws -> ScavengeReport

    /// Erases a stream permanently: every event's data and the stream's metadata leave every
    /// file of the store; the stream is tombstoned (its name can never be written again); and an
    /// audit event recording the erasure (``Erasure/auditStream``) is appended.
    ///
    /// - Parameters:
    ///   - stream: the stream to erase (an application stream: not `$`-prefixed).
    ///   - reason: why, kept in the audit event (for example a ticket number); may be empty.
    /// - Throws: `StrataError.invalidStreamName` for a `$` stream, `StrataError.streamNotFound`
    ///   for a stream the store never knew.
    func erase(_ stream: String, reason: String) async throws -> ErasureReport
}

/// What one ``MaintainableEventStore/scavenge()`` removed.
public struct ScavengeReport: Sendable, Equatable, Decodable {
    /// Events removed from storage.
    public var eventsRemoved: Int
    /// Bytes of storage before and after (the log: segment files; SQLite: the database file;
    /// PostgreSQL: the tables' size as the server reports it).
    public var bytesBefore: Int64
    /// Bytes of storage after the scavenge.
    public var bytesAfter: Int64
    /// Storage units rewritten (segments for the log; 0 for the SQL stores).
    public var segmentsRewritten: Int
    /// How long the scavenge took, in seconds.
    public var seconds: Double

    /// Creates a report of a scavenge that started at `started` and ends now.
    public init(eventsRemoved: Int, bytesBefore: Int64, bytesAfter: Int64, segmentsRewritten: Int, started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        self.init(eventsRemoved: eventsRemoved, bytesBefore: bytesBefore, bytesAfter: bytesAfter, segmentsRewritten: segmentsRewritten,
                  seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The bytes reclaimed: `bytesBefore - bytesAfter` (0 when the store grew meanwhile).
    public var bytesReclaimed: Int64 { Swift.max(0, bytesBefore - bytesAfter) }

    /// Creates a report.
    public init(eventsRemoved: Int, bytesBefore: Int64, bytesAfter: Int64, segmentsRewritten: Int, seconds: Double) {
        self.eventsRemoved = eventsRemoved
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
        self.segmentsRewritten = segmentsRewritten
        self.seconds = seconds
    }
}

/// What one ``MaintainableEventStore/erase(_:reason:)`` did.
public struct ErasureReport: Sendable, Equatable, Decodable {
    /// The erased stream.
    public var stream: String
    /// How many of its events were erased.
    public var eventsErased: Int
    /// The position of the audit event in `$all`.
    public var auditPosition: UInt64

    /// Creates a report.
    public init(stream: String, eventsErased: Int, auditPosition: UInt64) {
        self.stream = stream
        self.eventsErased = eventsErased
        self.auditPosition = auditPosition
    }
}

/// The audit trail of erasures, the same on every backend (docs/CONTRACT.md, "Erasure").
public enum Erasure {
    /// The system stream every erasure appends one event to.
    public static let auditStream = "$erasures"
    /// The audit event's type.
    public static let auditEventType = "$erased"

    /// The audit event for an erasure: `{"stream":…,"lastRevision":N,"reason":…}`, where
    /// `lastRevision` is the erased stream's last revision (the time is the event's recorded time).
    public static func auditEvent(stream: String, lastRevision: UInt64, reason: String) -> EventData {
        let json = "{\"stream\":\(JSONWriter.quoted(stream)),\"lastRevision\":\(lastRevision),\"reason\":\(JSONWriter.quoted(reason))}"
        return EventData(type: auditEventType, data: Data(json.utf8))
    }

    /// Checks the stream an erasure names: an application stream (erasing `$erasures` itself
    /// would defeat the audit trail).
    public static func validate(_ stream: String) throws {
        try Naming.validateStreamName(stream)
    }

    /// Checks that the store knows the stream an erasure names (written, tombstoned, or with
    /// metadata), from its ``StreamInfo``; throws `streamNotFound` otherwise.
    public static func checkKnown(_ info: StreamInfo) throws {
        guard info.lastRevision > 0 || info.isTombstoned || !info.metadata.isEmpty else { throw StrataError.streamNotFound(info.stream) }
    }
}
