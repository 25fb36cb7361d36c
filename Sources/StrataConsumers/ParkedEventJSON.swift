import StrataJSON

extension ParkedEvent {
    /// The parked event as one JSON object: `{"position", "stream", "revision", "type",
    /// "attempts", "error", "parkedAt"}` (`parkedAt` in ISO 8601 UTC). `strata consumers parked`
    /// prints it, one line per event; the server's parked pages hold it.
    public var json: [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.field("position", position)
        out.field("stream", stream)
        out.field("revision", revision)
        out.field("type", type)
        out.key("attempts")
        out.number(attempts)
        out.field("error", error)
        out.field("parkedAt", UTCTime.iso8601(parkedAtMicroseconds))
        out.endObject()
        return out.bytes
    }
}
