#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ts` of the wire format: ISO 8601 in UTC with milliseconds, `2026-11-23T23:40:12.345Z`
/// (always 24 bytes). Written by hand (days-to-civil arithmetic) because `emit` formats one per event.
enum WireTimestamp {
    /// The current time in milliseconds since 1970-01-01T00:00:00Z.
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Appends the 24 bytes of `milliseconds` formatted, without quotes.
    static func append(milliseconds: Int64, to out: inout [UInt8]) {
        var days = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        if rest < 0 { rest += 86_400_000; days -= 1 }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let hour = rest / 3_600_000, minute = rest / 60_000 % 60, second = rest / 1000 % 60, millis = rest % 1000
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var v = value
            for _ in 0..<count {
                out.append(UInt8(48 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
                if divisor == 0 { break }
            }
        }
        digits(year, 4); out.append(0x2D); digits(month, 2); out.append(0x2D); digits(day, 2)
        out.append(0x54); digits(hour, 2); out.append(0x3A); digits(minute, 2); out.append(0x3A); digits(second, 2)
        out.append(0x2E); digits(millis, 3); out.append(0x5A)
    }

    /// The formatted text of `milliseconds`.
    static func string(milliseconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(milliseconds: milliseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
