import Strata
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ts` of the wire format: ISO 8601 in UTC with milliseconds, `2026-11-23T23:40:12.345Z`
/// (always 24 bytes), through ``Strata/UTCTime`` (no allocation: `emit` formats one per event).
enum WireTimestamp {
    /// The current time in milliseconds since 1970-01-01T00:00:00Z.
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Appends the 24 bytes of `milliseconds` formatted, without quotes.
    static func append(milliseconds: Int64, to out: inout [UInt8]) {
        UTCTime.appendISO8601(milliseconds &* 1000, fractionDigits: 3, to: &out)
    }

    /// The formatted text of `milliseconds`.
    static func string(milliseconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(milliseconds: milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
