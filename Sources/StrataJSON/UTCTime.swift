/// Strata's one UTC time: calendar arithmetic and ISO 8601 text without `gmtime` or
/// `DateFormatter`, used by everything that writes or reads a time (``StrataJSONDecoder``'s and
/// ``StrataJSONEncoder``'s `.iso8601` dates, the lakehouse exporter, the emitter's `ts`, document
/// meta, the CLI's and the server's event JSON). Allocation-free (days ↔ civil dates after Howard
/// Hinnant's public-domain algorithms).
public enum UTCTime {
    /// Microseconds in one hour (a lakehouse partition's width).
    public static let microsecondsPerHour: Int64 = 3_600_000_000

    /// A UTC calendar time.
    public struct Civil: Sendable, Hashable {
        /// The year (proleptic Gregorian).
        public var year: Int
        /// The month, 1…12.
        public var month: Int
        /// The day of the month, 1…31.
        public var day: Int
        /// The hour, 0…23.
        public var hour: Int
        /// The minute, 0…59.
        public var minute: Int
        /// The second, 0…59.
        public var second: Int
        /// Microseconds within the second (0 ..< 1,000,000).
        public var microsecond: Int
    }

    /// The calendar time of `microseconds` since 1970-01-01T00:00:00Z.
    public static func civil(_ microseconds: Int64) -> Civil {
        let perDay: Int64 = 86_400_000_000
        var days = microseconds / perDay
        var rest = microseconds % perDay
        if rest < 0 {
            rest += perDay
            days -= 1
        }
        let (y, m, d) = civil(days: days)
        let seconds = rest / 1_000_000
        return Civil(year: y, month: m, day: d, hour: Int(seconds / 3600), minute: Int(seconds / 60 % 60),
                     second: Int(seconds % 60), microsecond: Int(rest % 1_000_000))
    }

    /// Microseconds since the epoch of a UTC calendar time (fields are not range-checked).
    public static func microseconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int) -> Int64 {
        let days = daysFromCivil(year: year, month: month, day: day)
        return (days * 86_400 + Int64(hour * 3600 + minute * 60 + second)) * 1_000_000 + Int64(microsecond)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
    public static func civil(days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d))
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes for years 0…9999; years before 0 get a
    /// minus sign); with `fractionDigits: 3`, `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 bytes, the time
    /// truncated to milliseconds); with `fractionDigits: 0`, `YYYY-MM-DDTHH:MM:SSZ` (20 bytes).
    public static func appendISO8601(_ microseconds: Int64, fractionDigits: Int = 6, to out: inout [UInt8]) {
        let c = civil(microseconds)
        if c.year < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(abs(c.year), 4, &out)
        out.append(0x2D)
        appendDigits(c.month, 2, &out)
        out.append(0x2D)
        appendDigits(c.day, 2, &out)
        out.append(0x54)
        appendDigits(c.hour, 2, &out)
        out.append(0x3A)
        appendDigits(c.minute, 2, &out)
        out.append(0x3A)
        appendDigits(c.second, 2, &out)
        if fractionDigits == 0 {
            out.append(0x5A)
            return
        }
        out.append(0x2E)
        if fractionDigits == 3 {
            appendDigits(c.microsecond / 1000, 3, &out)
        } else {
            appendDigits(c.microsecond, 6, &out)
        }
        out.append(0x5A)
    }

    /// The ISO 8601 text of a time: microseconds (`…SS.ffffffZ`), milliseconds with
    /// `fractionDigits: 3` (`…SS.mmmZ`), or whole seconds with `fractionDigits: 0` (`…SSZ`).
    public static func iso8601(_ microseconds: Int64, fractionDigits: Int = 6) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        appendISO8601(microseconds, fractionDigits: fractionDigits, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `value` as `width` decimal digits (zero-padded; negative values as zeros).
    @inline(__always)
    public static func appendDigits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        let v = max(0, value)
        while divisor > 0 {
            out.append(UInt8(truncatingIfNeeded: 0x30 + v / divisor % 10))
            divisor /= 10
        }
    }

    /// Whether `year` is a leap year (proleptic Gregorian).
    public static func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    /// The days of `month` (1…12) in `year`.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Parses the microseconds of RFC 3339 / ISO 8601 text (see ``parseISO8601(_:)-(UnsafeRawBufferPointer)``).
    public static func parseISO8601(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseISO8601(UnsafeRawBufferPointer($0)) }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)` into microseconds since the epoch
    /// (`T` and `Z` in either case, or a space for the `T`; the day checked against its month;
    /// fractions beyond microseconds are truncated); `nil` for anything else.
    public static func parseISO8601(_ b: UnsafeRawBufferPointer) -> Int64? {
        guard b.count >= 20 else { return nil }
        @inline(__always) func num(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for i in at..<(at + n) {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let year = num(0, 4), b[4] == 0x2D, let month = num(5, 2), b[7] == 0x2D, let day = num(8, 2),
              b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20, let hour = num(11, 2), b[13] == 0x3A, let minute = num(14, 2),
              b[16] == 0x3A, let second = num(17, 2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var micro = 0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 6 { micro = micro * 10 + Int(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 6)..<6 { micro *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        switch b[i] {
        case 0x5A, 0x7A:
            i += 1
        case 0x2B, 0x2D:
            let sign = b[i] == 0x2D ? -1 : 1
            guard i + 5 <= b.count, let oh = num(i + 1, 2) else { return nil }
            var j = i + 3
            if b[j] == 0x3A { j += 1 }
            guard j + 2 <= b.count, let om = num(j, 2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i = j + 2
        default:
            return nil
        }
        guard i == b.count else { return nil }
        return microseconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: micro)
            - Int64(offsetMinutes) * 60_000_000
    }
}
