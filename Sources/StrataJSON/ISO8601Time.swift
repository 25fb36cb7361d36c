import Foundation

/// Reads and writes RFC 3339 / ISO 8601 timestamps (`2024-05-01T12:30:00.250Z`) without a
/// formatter: the civil-calendar arithmetic of the proleptic Gregorian calendar in UTC.
enum ISO8601Time {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; nil when the text is not one.
    static func parse(_ text: UnsafeRawBufferPointer) -> Date? {
        let n = text.count
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= n else { return nil }
            var value = 0
            for k in 0..<width {
                let c = text[i + k]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
            }
            i += width
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < n, text[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2) else { return nil }
        guard i < n, text[i] == UInt8(ascii: "T") || text[i] == UInt8(ascii: "t") else { return nil }
        i += 1
        guard let hour = number(2), expect(0x3A), let minute = number(2), expect(0x3A), let second = number(2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        var fraction = 0.0
        if i < n, text[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < n, text[i] >= 0x30, text[i] <= 0x39 {
                fraction += Double(text[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < n else { return nil }
        var offset = 0
        switch text[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = text[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let hours = number(2) else { return nil }
            _ = expect(0x3A)
            guard let minutes = number(2), hours <= 23, minutes <= 59 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Writes the date in UTC with whole seconds (truncated) or milliseconds.
    static func format(_ date: Date, milliseconds: Bool, into out: JSONOutput) {
        let interval = date.timeIntervalSince1970
        let totalMilliseconds = Int64((interval * 1000).rounded(.down))
        let (secondsTotal, millis) = floorDivide(totalMilliseconds, 1000)
        let (days, secondOfDay) = floorDivide(secondsTotal, 86_400)
        let (year, month, day) = civil(fromDays: Int(days))
        out.appendByte(UInt8(ascii: "\""))
        if year < 0 { out.appendByte(UInt8(ascii: "-")) }
        out.appendDigits(abs(year), width: 4)
        out.appendByte(UInt8(ascii: "-"))
        out.appendDigits(month, width: 2)
        out.appendByte(UInt8(ascii: "-"))
        out.appendDigits(day, width: 2)
        out.appendByte(UInt8(ascii: "T"))
        out.appendDigits(Int(secondOfDay / 3600), width: 2)
        out.appendByte(UInt8(ascii: ":"))
        out.appendDigits(Int(secondOfDay / 60 % 60), width: 2)
        out.appendByte(UInt8(ascii: ":"))
        out.appendDigits(Int(secondOfDay % 60), width: 2)
        if milliseconds {
            out.appendByte(UInt8(ascii: "."))
            out.appendDigits(Int(millis), width: 3)
        }
        out.appendByte(UInt8(ascii: "Z"))
        out.appendByte(UInt8(ascii: "\""))
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given date (March-based years make the leap day the last day).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``daysSinceEpoch(year:month:day:)``.
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
