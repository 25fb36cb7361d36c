import Foundation
import Strata
import StrataJSON

/// Scavenge and erasure reports as JSON, the one shape the HTTP API, the client and the CLI
/// share (docs/SERVER.md, "Scavenging and erasure"); the reports decode from it as they are
/// (`Decodable`, `bytesReclaimed` being computed):
///
///     {"eventsRemoved":120,"bytesBefore":8388608,"bytesAfter":4194304,"bytesReclaimed":4194304,"segmentsRewritten":2,"seconds":0.41}
///     {"stream":"customer-42","eventsErased":7,"auditPosition":1234}
public enum MaintenanceJSON {
    /// A scavenge report as one JSON object.
    public static func encode(_ report: ScavengeReport) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.key("eventsRemoved"); out.number(report.eventsRemoved)
        out.key("bytesBefore"); out.number(report.bytesBefore)
        out.key("bytesAfter"); out.number(report.bytesAfter)
        out.key("bytesReclaimed"); out.number(report.bytesReclaimed)
        out.key("segmentsRewritten"); out.number(report.segmentsRewritten)
        out.key("seconds"); out.number(report.seconds)
        out.endObject()
        return out.bytes
    }

    /// An erasure report as one JSON object.
    public static func encode(_ report: ErasureReport) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("stream", report.stream)
        out.key("eventsErased"); out.number(report.eventsErased)
        out.field("auditPosition", report.auditPosition)
        out.endObject()
        return out.bytes
    }
}
