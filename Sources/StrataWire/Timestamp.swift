import Strata

/// ISO 8601 timestamps in UTC with microseconds, as `read` and `tail` print them:
/// `2025-11-23T19:49:00.123456Z`.
public enum Timestamp {
    /// Formats microseconds since the Unix epoch.
    public static func iso8601(microseconds: Int64) -> String { UTCTime.iso8601(microseconds) }

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
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        return UTCTime.microseconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: fraction)
    }
}
