/// The `format` checks, on UTF-8 bytes without regular expressions.
enum StringFormats {
    static func matches(_ s: String, _ format: StringFormat) -> Bool {
        var s = s
        return s.withUTF8 { bytes in
            switch format {
            case .dateTime: isDateTime(bytes)
            case .date: bytes.count == 10 && isDate(bytes[...])
            case .uuid: isUUID(bytes)
            case .email: isEmail(bytes)
            }
        }
    }

    typealias Bytes = UnsafeBufferPointer<UInt8>

    private static func digits(_ bytes: Slice<Bytes>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var v = 0
        for c in bytes {
            guard c >= 0x30, c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    /// `YYYY-MM-DD` with a real day of that month (leap years included).
    static func isDate(_ b: Slice<Bytes>) -> Bool {
        let s = b.startIndex
        guard b.count == 10, b[s + 4] == 0x2D, b[s + 7] == 0x2D,
              let year = digits(b[s..<s + 4]), let month = digits(b[s + 5..<s + 7]), let day = digits(b[s + 8..<s + 10]),
              (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `T` and `Z` in either case.
    static func isDateTime(_ b: Bytes) -> Bool {
        guard b.count >= 20, isDate(b[0..<10]), b[10] == 0x54 || b[10] == 0x74,
              b[13] == 0x3A, b[16] == 0x3A,
              let hour = digits(b[11..<13]), let minute = digits(b[14..<16]), let second = digits(b[17..<19]),
              hour <= 23, minute <= 59, second <= 60 else { return false }
        var i = 19
        if b[i] == 0x2E {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start else { return false }
        }
        guard i < b.count else { return false }
        if b[i] == 0x5A || b[i] == 0x7A { return i + 1 == b.count }
        guard b[i] == 0x2B || b[i] == 0x2D, b.count == i + 6, b[i + 3] == 0x3A,
              let h = digits(b[i + 1..<i + 3]), let m = digits(b[i + 4..<i + 6]) else { return false }
        return h <= 23 && m <= 59
    }

    /// 8-4-4-4-12 hexadecimal digits, either case.
    static func isUUID(_ b: Bytes) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != 0x2D { return false }
            } else if !((0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)) {
                return false
            }
        }
        return true
    }

    /// `local@domain`: exactly one `@`; a non-empty local part without spaces or control
    /// characters; a domain of non-empty dot-separated labels of letters, digits and hyphens
    /// (not starting or ending with a hyphen).
    static func isEmail(_ b: Bytes) -> Bool {
        guard let at = b.firstIndex(of: 0x40), at > 0, at < b.count - 1, !b[(at + 1)...].contains(0x40) else { return false }
        if b[..<at].contains(where: { $0 <= 0x20 || $0 == 0x7F }) { return false }
        for label in b[(at + 1)...].split(separator: 0x2E, omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last, first != 0x2D, last != 0x2D else { return false }
            for c in label where !((0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x2D || c >= 0x80) {
                return false
            }
        }
        return true
    }
}
