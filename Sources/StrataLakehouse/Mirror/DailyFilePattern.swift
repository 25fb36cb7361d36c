import Foundation
import Strata
import StrataJSON

/// A file name pattern for one file per UTC day, eventlog style: `%y` (4 digits), `%m` and `%d`
/// (2 digits each), each exactly once, for example `events-%y-%m-%d.jsonl`. The daily mirror
/// writes such files and the eventlog importer reads them.
public struct DailyFilePattern: Sendable, Hashable {
    /// The pattern text.
    public let text: String

    /// Checks a pattern.
    /// - Throws: `StrataError.invalidArgument` unless `%y`, `%m` and `%d` appear once each, and
    ///   for a `/` or a leading `.` (the files live in one folder and are not hidden).
    public init(_ text: String) throws {
        for token in ["%y", "%m", "%d"] where text.components(separatedBy: token).count != 2 {
            throw StrataError.invalidArgument("the daily file pattern \"\(text)\" must contain \(token) exactly once")
        }
        if text.contains("/") || text.hasPrefix(".") {
            throw StrataError.invalidArgument("the daily file pattern \"\(text)\" names files in one folder: no \"/\", no leading \".\"")
        }
        self.text = text
    }

    /// The file name of a day (days since 1970-01-01, UTC).
    public func fileName(day: Int64) -> String {
        let (year, month, dayOfMonth) = UTCTime.civil(days: day)
        func digits(_ value: Int, _ width: Int) -> String {
            var out: [UInt8] = []
            UTCTime.appendDigits(value, width, &out)
            return String(decoding: out, as: UTF8.self)
        }
        return text.replacingOccurrences(of: "%y", with: digits(year, 4))
            .replacingOccurrences(of: "%m", with: digits(month, 2))
            .replacingOccurrences(of: "%d", with: digits(dayOfMonth, 2))
    }

    /// The day a file name encodes as `YYYYMMDD`, or nil when the name does not match (or names
    /// a month or day out of range).
    public func day(of name: String) -> String? {
        var pattern = Substring(text)
        var rest = Substring(name)
        var year = "", month = "", dayOfMonth = ""
        while !pattern.isEmpty {
            if pattern.hasPrefix("%y") || pattern.hasPrefix("%m") || pattern.hasPrefix("%d") {
                let width = pattern.hasPrefix("%y") ? 4 : 2
                let digits = rest.prefix(width)
                guard digits.count == width, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                if pattern.hasPrefix("%y") { year = String(digits) } else if pattern.hasPrefix("%m") { month = String(digits) } else { dayOfMonth = String(digits) }
                pattern = pattern.dropFirst(2)
                rest = rest.dropFirst(width)
            } else {
                guard rest.first == pattern.first else { return nil }
                pattern = pattern.dropFirst()
                rest = rest.dropFirst()
            }
        }
        guard rest.isEmpty, let m = Int(month), (1...12).contains(m), let d = Int(dayOfMonth), (1...31).contains(d) else { return nil }
        return year + month + dayOfMonth
    }

    /// The UTC day (days since 1970-01-01) of a time in microseconds.
    public static func utcDay(_ microseconds: Int64) -> Int64 {
        let perDay: Int64 = 86_400_000_000
        return microseconds >= 0 ? microseconds / perDay : (microseconds - perDay + 1) / perDay
    }
}
