#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ISO 8601 timestamps in UTC with microseconds, as `read` and `tail` print them:
/// `2025-11-23T19:49:00.123456Z`.
public enum Timestamp {
    /// Formats microseconds since the Unix epoch.
    public static func iso8601(microseconds: Int64) -> String {
        // Floor division, so that times before 1970 keep a non-negative fraction.
        var seconds = microseconds / 1_000_000
        var fraction = microseconds % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(fraction), 6) + "Z"
    }

    /// Parses what ``iso8601(microseconds:)`` writes (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, UTC);
    /// `nil` for anything else.
    public static func microseconds(parsingISO8601 text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), b[4] == UInt8(ascii: "-"), let month = number(5..<7), b[7] == UInt8(ascii: "-"),
              let day = number(8..<10), b[10] == UInt8(ascii: "T"), let hour = number(11..<13), b[13] == UInt8(ascii: ":"),
              let minute = number(14..<16), b[16] == UInt8(ascii: ":"), let second = number(17..<19) else { return nil }
        var fraction = 0
        if b[19] == UInt8(ascii: ".") {
            let digits = b.count - 1 - 20
            guard digits >= 1, digits <= 6, let f = number(20..<(b.count - 1)) else { return nil }
            fraction = f
            for _ in digits..<6 { fraction *= 10 }
        } else if b.count != 20 {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts))
        return seconds * 1_000_000 + Int64(fraction)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
