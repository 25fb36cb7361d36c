/// One pass over the input that checks it against RFC 8259 (grammar, UTF-8, escapes, surrogate
/// pairs) and writes the tape. Strings and numbers are not converted here: they are checked and
/// located, and converted only when a value of theirs is decoded.
struct JSONParser {
    let bytes: UnsafePointer<UInt8>
    let end: Int
    let tape: JSONTape
    let tokens: UnsafeMutablePointer<JSONToken>
    var pos = 0
    var count = 0
    var depth = 0
    /// The deepest nesting accepted (at most ``JSONTape/maxDepth``).
    var maxDepth = JSONTape.maxDepth
    /// Whether a UTF-8 byte order mark before the value is skipped (as Foundation's decoder
    /// does) rather than refused.
    var skipsByteOrderMark = true

    init(bytes: UnsafePointer<UInt8>, count: Int, tape: JSONTape) {
        self.bytes = bytes
        self.end = count
        self.tape = tape
        tape.reserve(forBytes: count)
        self.tokens = tape.tokens
    }

    /// A parse failure, with the open containers at the time so a coding path can be built.
    struct Failure: Error {
        let offset: Int
        let reason: String
    }

    /// Parses one JSON text: a value with optional whitespace around it (and a UTF-8 byte order
    /// mark before it). One loop over the bytes with an explicit stack of open containers, so
    /// nothing recurses and the hot state stays in registers.
    mutating func parseDocument() throws(Failure) {
        let b = bytes
        let e = end
        let t = tokens
        let open = tape.open
        let member = tape.member
        let seenLow = tape.seenLow
        let seenHigh = tape.seenHigh
        var p = 0
        var n = 0
        var level = 0
        defer {
            pos = p
            count = n
            depth = level
        }
        let limit = min(maxDepth, JSONTape.maxDepth)
        if skipsByteOrderMark && e >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { p = 3 }

        @inline(__always)
        func skipSpace() {
            while p < e {
                let c = b[p]
                guard c <= 0x20, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                p &+= 1
            }
        }

        @inline(__always)
        func append(_ kind: JSONTokenKind, _ flags: UInt8, _ start: Int, _ length: Int) {
            t[n] = JSONToken(kind: kind, flags: flags, start: UInt32(truncatingIfNeeded: start),
                             length: UInt32(truncatingIfNeeded: length), next: UInt32(truncatingIfNeeded: n &+ 1), hint: 0)
            n &+= 1
        }

        /// Scans the string whose opening quote is at `p` and appends its token.
        @inline(__always)
        func string() throws(Failure) {
            let quote = p
            var q = p &+ 1
            var flags: UInt8 = 0
            while true {
                // Eight bytes at a time up to the first quote, backslash, control character or
                // non-ASCII byte.
                while q &+ 8 <= e {
                    let mask = JSONParser.specialBytes(UInt64(littleEndian: UnsafeRawPointer(b + q).loadUnaligned(as: UInt64.self)))
                    if mask != 0 {
                        q &+= mask.trailingZeroBitCount &>> 3
                        break
                    }
                    q &+= 8
                }
                guard q < e else { throw Failure(offset: quote, reason: "an unterminated string") }
                let c = b[q]
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    flags = JSONToken.escaped
                    q = try escape(at: q)
                } else if c < 0x20 {
                    throw Failure(offset: q, reason: "an unescaped control character (\(describe(c))) in a string")
                } else if c >= 0x80 {
                    q = try utf8Sequence(at: q)
                } else {
                    q &+= 1
                }
            }
            append(.string, flags, quote &+ 1, q &- quote &- 1)
            p = q &+ 1
        }

        /// Scans the number starting at `p` and appends its token.
        @inline(__always)
        func number() throws(Failure) {
            let start = p
            var q = p
            var flags: UInt8 = 0
            if b[q] == UInt8(ascii: "-") {
                flags |= JSONToken.negative
                q &+= 1
            }
            guard q < e, b[q] &- 0x30 < 10 else {
                throw Failure(offset: q, reason: q < e ? "unexpected \(describe(b[q])) in a number, expected a digit" : "unexpected end of input in a number")
            }
            if b[q] == 0x30 {
                q &+= 1
                if q < e, b[q] &- 0x30 < 10 { throw Failure(offset: start, reason: "a number with a leading zero") }
            } else {
                while q < e, b[q] &- 0x30 < 10 { q &+= 1 }
            }
            if q < e, b[q] == UInt8(ascii: ".") {
                flags |= JSONToken.fractional
                q &+= 1
                let digits = q
                while q < e, b[q] &- 0x30 < 10 { q &+= 1 }
                guard q > digits else { throw Failure(offset: q, reason: "a number with no digits after '.'") }
            }
            if q < e, b[q] | 0x20 == UInt8(ascii: "e") {
                flags |= JSONToken.fractional
                q &+= 1
                if q < e, b[q] == UInt8(ascii: "+") || b[q] == UInt8(ascii: "-") { q &+= 1 }
                let digits = q
                while q < e, b[q] &- 0x30 < 10 { q &+= 1 }
                guard q > digits else { throw Failure(offset: q, reason: "a number with no digits in its exponent") }
            }
            append(.number, flags, start, q &- start)
            p = q
        }

        @inline(__always)
        func literal(_ kind: JSONTokenKind, _ word: StaticString) throws(Failure) {
            let length = word.utf8CodeUnitCount
            let w = word.utf8Start
            for i in 0..<length where p &+ i >= e || b[p &+ i] != w[i] {
                throw Failure(offset: p &+ i, reason: p &+ i >= e ? "unexpected end of input in '\(word)'" : "unexpected \(describe(b[p &+ i])) in '\(word)'")
            }
            append(kind, 0, p, length)
            p &+= length
        }

        @inline(__always)
        func push(_ index: Int) throws(Failure) {
            guard level < limit else { throw Failure(offset: p, reason: "nesting deeper than \(limit) levels") }
            open[level] = UInt32(truncatingIfNeeded: index)
            member[level] = 0
            seenLow[level] = 0
            seenHigh[level] = 0
            level &+= 1
        }

        enum Expecting { case value, afterValue, key }
        skipSpace()
        guard p < e else { throw Failure(offset: p, reason: p == 0 ? "the input is empty" : "the input holds only whitespace") }
        var expecting = Expecting.value
        while true {
            switch expecting {
            case .value:
                guard p < e else { throw Failure(offset: p, reason: "unexpected end of input, expected a value") }
                switch b[p] {
                case UInt8(ascii: "\""):
                    try string()
                    expecting = .afterValue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try number()
                    expecting = .afterValue
                case UInt8(ascii: "{"):
                    let object = n
                    append(.object, 0, p, 0)
                    try push(object)
                    p &+= 1
                    skipSpace()
                    if p < e && b[p] == UInt8(ascii: "}") {
                        p &+= 1
                        level &-= 1
                        expecting = .afterValue
                    } else {
                        expecting = .key
                    }
                case UInt8(ascii: "["):
                    let array = n
                    append(.array, 0, p, 0)
                    try push(array)
                    p &+= 1
                    skipSpace()
                    if p < e && b[p] == UInt8(ascii: "]") {
                        p &+= 1
                        level &-= 1
                        expecting = .afterValue
                    } else {
                        t[array].length = 1
                        member[level &- 1] = 1
                    }
                case UInt8(ascii: "t"):
                    try literal(.true, "true")
                    expecting = .afterValue
                case UInt8(ascii: "f"):
                    try literal(.false, "false")
                    expecting = .afterValue
                case UInt8(ascii: "n"):
                    try literal(.null, "null")
                    expecting = .afterValue
                default:
                    throw Failure(offset: p, reason: "unexpected \(describe(b[p])), expected a value")
                }
            case .afterValue:
                if level == 0 {
                    skipSpace()
                    guard p == e else { throw Failure(offset: p, reason: "unexpected \(describe(b[p])) after the JSON value") }
                    tape.count = n
                    return
                }
                let top = level &- 1
                let container = Int(open[top])
                member[top] = 0
                skipSpace()
                let isObject = t[container].kind == .object
                guard p < e else {
                    throw Failure(offset: p, reason: isObject ? "unexpected end of input, expected ',' or '}'" : "unexpected end of input, expected ',' or ']'")
                }
                let c = b[p]
                p &+= 1
                if c == UInt8(ascii: ",") {
                    skipSpace()
                    if isObject {
                        if p < e && b[p] == UInt8(ascii: "}") { throw Failure(offset: p, reason: "a trailing comma before '}'") }
                        expecting = .key
                    } else {
                        if p < e && b[p] == UInt8(ascii: "]") { throw Failure(offset: p, reason: "a trailing comma before ']'") }
                        t[container].length &+= 1
                        member[top] = 1
                        expecting = .value
                    }
                } else if c == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    t[container].next = UInt32(truncatingIfNeeded: n)
                    level = top
                } else {
                    throw Failure(offset: p &- 1, reason: "unexpected \(describe(c)), expected ',' or '\(isObject ? "}" : "]")'")
                }
            case .key:
                guard p < e, b[p] == UInt8(ascii: "\"") else {
                    throw Failure(offset: p, reason: p < e ? "unexpected \(describe(b[p])), expected a string key" : "unexpected end of input, expected a string key")
                }
                let key = n
                try string()
                let top = level &- 1
                member[top] = UInt32(truncatingIfNeeded: key)
                let object = Int(open[top])
                t[object].length &+= 1
                if t[object].flags & JSONToken.mayRepeatKeys == 0 {
                    // A 128-slot filter over the keys seen: a clash means two keys may be equal,
                    // and then lookups take the first match, as Foundation does.
                    let bit = keyHash(key)
                    if bit < 64 {
                        if seenLow[top] & (1 &<< bit) != 0 { t[object].flags |= JSONToken.mayRepeatKeys }
                        seenLow[top] |= 1 &<< bit
                    } else {
                        if seenHigh[top] & (1 &<< (bit &- 64)) != 0 { t[object].flags |= JSONToken.mayRepeatKeys }
                        seenHigh[top] |= 1 &<< (bit &- 64)
                    }
                }
                skipSpace()
                guard p < e, b[p] == UInt8(ascii: ":") else {
                    throw Failure(offset: p, reason: p < e ? "unexpected \(describe(b[p])), expected ':' after an object key" : "unexpected end of input, expected ':'")
                }
                p &+= 1
                skipSpace()
                expecting = .value
            }
        }
    }

    /// A hash of a key's length and first and last bytes (escapes included as written), 0..<128.
    @inline(__always)
    func keyHash(_ key: Int) -> UInt64 {
        let token = tokens[key]
        let start = Int(token.start)
        let n = Int(token.length)
        var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        if n > 0 {
            var word: UInt64 = 0
            if start &+ 8 <= end {
                word = UInt64(littleEndian: UnsafeRawPointer(bytes + start).loadUnaligned(as: UInt64.self))
                if n < 8 { word &= (1 &<< (UInt64(n) &* 8)) &- 1 }
            } else {
                for i in 0..<min(n, 8) { word |= UInt64(bytes[start &+ i]) &<< (UInt64(i) &* 8) }
            }
            h ^= word &* 0xBF58_476D_1CE4_E5B9
            h ^= UInt64(bytes[start &+ n &- 1]) &* 0x94D0_49BB_1331_11EB
        }
        return h &>> 57
    }

    /// A word whose lowest set bit is the high bit of the first byte of `w` (first byte lowest)
    /// that is `"`, `\\`, below 0x20, or 0x80 and above; zero when there is none. Bits above the
    /// lowest may be false positives (a borrow), so only the lowest one is meaningful.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = w ^ 0x2222_2222_2222_2222
        let backslashes = w ^ 0x5C5C_5C5C_5C5C_5C5C
        return (((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((w &- 0x2020_2020_2020_2020) & ~w) | w)
            & 0x8080_8080_8080_8080
    }

    /// Checks the escape at `p` (a backslash); returns the offset after it.
    func escape(at p: Int) throws(Failure) -> Int {
        guard p + 1 < end else { throw Failure(offset: p, reason: "an unterminated escape") }
        switch bytes[p + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return p + 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: p + 2)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw Failure(offset: p, reason: "a lone low surrogate \\u\(hexText(unit))")
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard p + 11 < end, bytes[p + 6] == UInt8(ascii: "\\"), bytes[p + 7] == UInt8(ascii: "u") else {
                    throw Failure(offset: p, reason: "a lone high surrogate \\u\(hexText(unit))")
                }
                let low = try hex4(at: p + 8)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw Failure(offset: p, reason: "a high surrogate \\u\(hexText(unit)) not followed by a low one")
                }
                return p + 12
            }
            return p + 6
        default:
            throw Failure(offset: p, reason: "an invalid escape \\\(describe(bytes[p + 1]))")
        }
    }

    func hex4(at p: Int) throws(Failure) -> UInt32 {
        guard p + 4 <= end else { throw Failure(offset: p, reason: "an unterminated \\u escape") }
        var value: UInt32 = 0
        for i in 0..<4 {
            guard let digit = JSONParser.hexValue(bytes[p + i]) else {
                throw Failure(offset: p + i, reason: "\(describe(bytes[p + i])) in a \\u escape, expected a hex digit")
            }
            value = value << 4 | digit
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    func hexText(_ unit: UInt32) -> String {
        let s = String(unit, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    /// Checks the multi-byte UTF-8 sequence at `p` (shortest form, no surrogates, at most
    /// U+10FFFF); returns the offset after it.
    func utf8Sequence(at p: Int) throws(Failure) -> Int {
        let c0 = bytes[p]
        var length = 0
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch c0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw Failure(offset: p, reason: "invalid UTF-8 (byte 0x\(String(c0, radix: 16)))")
        }
        guard p + length <= end else { throw Failure(offset: p, reason: "a truncated UTF-8 sequence") }
        let c1 = bytes[p + 1]
        guard c1 >= low && c1 <= high else { throw Failure(offset: p + 1, reason: "invalid UTF-8 (byte 0x\(String(c1, radix: 16)))") }
        for i in 2..<length where bytes[p + i] & 0xC0 != 0x80 {
            throw Failure(offset: p + i, reason: "invalid UTF-8 (byte 0x\(String(bytes[p + i], radix: 16)))")
        }
        return p + length
    }

    func describe(_ c: UInt8) -> String {
        switch c {
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(c)))'"
        default: return "byte 0x\(c < 0x10 ? "0" : "")\(String(c, radix: 16))"
        }
    }
}
