import Foundation

/// `Date` in and out of ISO 8601 text, for the coders' `.iso8601` strategies.
extension UTCTime {
    /// The date of ISO 8601 text (``parseISO8601(_:)-(UnsafeRawBufferPointer)``); nil when the
    /// text is not one.
    static func date(parsingISO8601 text: UnsafeRawBufferPointer) -> Date? {
        // RFC 3339 dates in JSON separate date and time by `T` (as Foundation's coders require).
        guard text.count > 10, text[10] != UInt8(ascii: " "), let micros = parseISO8601(text) else { return nil }
        // Whole seconds and the fraction apart, so that `.250` is exactly a quarter second.
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let whole = fraction < 0 ? seconds - 1 : seconds
        let rest = fraction < 0 ? fraction + 1_000_000 : fraction
        return Date(timeIntervalSince1970: Double(whole) + Double(rest) / 1_000_000)
    }

    /// Writes `date` in quotes, in UTC, with whole seconds (truncated) or milliseconds.
    static func appendISO8601(_ date: Date, milliseconds: Bool, into out: JSONOutput) {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var text: [UInt8] = [UInt8(ascii: "\"")]
        text.reserveCapacity(32)
        appendISO8601(totalMilliseconds &* 1000, fractionDigits: milliseconds ? 3 : 0, to: &text)
        text.append(UInt8(ascii: "\""))
        text.withUnsafeBytes { out.append($0) }
    }
}
