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
    /// mark before it).
    mutating func parseDocument() throws(Failure) {
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { pos = 3 }
        skipWhitespace()
        guard pos < end else { throw Failure(offset: pos, reason: pos == 0 ? "the input is empty" : "the input holds only whitespace") }
        try parseValue()
        skipWhitespace()
        guard pos == end else { throw Failure(offset: pos, reason: "unexpected \(describe(bytes[pos])) after the JSON value") }
        tape.count = count
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let c = bytes[pos]
            guard c <= 0x20, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    @inline(__always)
    mutating func append(_ kind: JSONTokenKind, flags: UInt8 = 0, start: Int, length: Int) {
        tokens[count] = JSONToken(kind: kind, flags: flags, start: UInt32(truncatingIfNeeded: start),
                                  length: UInt32(truncatingIfNeeded: length), next: UInt32(truncatingIfNeeded: count + 1), hint: 0)
        count += 1
    }

    mutating func parseValue() throws(Failure) {
        guard pos < end else { throw Failure(offset: pos, reason: "unexpected end of input, expected a value") }
        switch bytes[pos] {
        case UInt8(ascii: "\""): try parseString()
        case UInt8(ascii: "{"): try parseObject()
        case UInt8(ascii: "["): try parseArray()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral(.true, "true")
        case UInt8(ascii: "f"): try parseLiteral(.false, "false")
        case UInt8(ascii: "n"): try parseLiteral(.null, "null")
        default: throw Failure(offset: pos, reason: "unexpected \(describe(bytes[pos])), expected a value")
        }
    }

    mutating func parseLiteral(_ kind: JSONTokenKind, _ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        for i in 0..<n where pos + i >= end || bytes[pos + i] != w[i] {
            throw Failure(offset: pos + i, reason: pos + i >= end ? "unexpected end of input in '\(word)'" : "unexpected \(describe(bytes[pos + i])) in '\(word)'")
        }
        append(kind, start: pos, length: n)
        pos += n
    }

    mutating func push(_ index: Int) throws(Failure) {
        guard depth < JSONTape.maxDepth else { throw Failure(offset: pos, reason: "nesting deeper than \(JSONTape.maxDepth) levels") }
        tape.open[depth] = UInt32(truncatingIfNeeded: index)
        tape.member[depth] = 0
        depth += 1
    }

    mutating func parseObject() throws(Failure) {
        let object = count
        append(.object, start: pos, length: 0)
        try push(object)
        pos += 1
        skipWhitespace()
        if pos < end && bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return
        }
        var members: UInt32 = 0
        var seen: (UInt64, UInt64) = (0, 0)
        var mayRepeat = false
        while true {
            guard pos < end, bytes[pos] == UInt8(ascii: "\"") else {
                if pos < end && bytes[pos] == UInt8(ascii: "}") && members > 0 {
                    throw Failure(offset: pos, reason: "a trailing comma before '}'")
                }
                throw Failure(offset: pos, reason: pos < end ? "unexpected \(describe(bytes[pos])), expected a string key" : "unexpected end of input, expected a string key")
            }
            let key = count
            try parseString()
            tape.member[depth - 1] = UInt32(truncatingIfNeeded: key)
            members += 1
            if !mayRepeat {
                // A 128-slot filter over the keys seen: a clash means two keys may be equal, and
                // then lookups take the first match as Foundation does.
                let bit = keyHash(key) & 127
                if bit < 64 {
                    if seen.0 & (1 << bit) != 0 { mayRepeat = true }
                    seen.0 |= 1 << bit
                } else {
                    if seen.1 & (1 << (bit - 64)) != 0 { mayRepeat = true }
                    seen.1 |= 1 << (bit - 64)
                }
            }
            skipWhitespace()
            guard pos < end, bytes[pos] == UInt8(ascii: ":") else {
                throw Failure(offset: pos, reason: pos < end ? "unexpected \(describe(bytes[pos])), expected ':' after an object key" : "unexpected end of input, expected ':'")
            }
            pos += 1
            skipWhitespace()
            try parseValue()
            tape.member[depth - 1] = 0
            skipWhitespace()
            guard pos < end else { throw Failure(offset: pos, reason: "unexpected end of input, expected ',' or '}'") }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "}") { break }
            throw Failure(offset: pos - 1, reason: "unexpected \(describe(c)), expected ',' or '}'")
        }
        tokens[object].length = members
        tokens[object].next = UInt32(truncatingIfNeeded: count)
        if mayRepeat { tokens[object].flags = JSONToken.mayRepeatKeys }
        depth -= 1
    }

    /// A hash of a key's length and first and last bytes (escapes included as written).
    @inline(__always)
    func keyHash(_ key: Int) -> UInt64 {
        let token = tokens[key]
        let start = Int(token.start)
        let n = Int(token.length)
        var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        if n > 0 {
            var word: UInt64 = 0
            if start + 8 <= end {
                word = UnsafeRawPointer(bytes + start).loadUnaligned(as: UInt64.self)
                if n < 8 { word &= (1 << (UInt64(n) * 8)) &- 1 }
            } else {
                for i in 0..<min(n, 8) { word |= UInt64(bytes[start + i]) << (UInt64(i) * 8) }
            }
            h ^= word &* 0xBF58_476D_1CE4_E5B9
            h ^= UInt64(bytes[start + n - 1]) &* 0x94D0_49BB_1331_11EB
        }
        return h >> 57
    }

    mutating func parseArray() throws(Failure) {
        let array = count
        append(.array, start: pos, length: 0)
        try push(array)
        pos += 1
        skipWhitespace()
        if pos < end && bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return
        }
        var elements: UInt32 = 0
        while true {
            if pos < end && bytes[pos] == UInt8(ascii: "]") && elements > 0 {
                throw Failure(offset: pos, reason: "a trailing comma before ']'")
            }
            elements += 1
            tokens[array].length = elements
            tape.member[depth - 1] = 1
            try parseValue()
            tape.member[depth - 1] = 0
            skipWhitespace()
            guard pos < end else { throw Failure(offset: pos, reason: "unexpected end of input, expected ',' or ']'") }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: ",") {
                skipWhitespace()
                continue
            }
            if c == UInt8(ascii: "]") { break }
            throw Failure(offset: pos - 1, reason: "unexpected \(describe(c)), expected ',' or ']'")
        }
        tokens[array].next = UInt32(truncatingIfNeeded: count)
        depth -= 1
    }

    mutating func parseString() throws(Failure) {
        let quote = pos
        var p = pos + 1
        var flags: UInt8 = 0
        while true {
            // Eight bytes at a time up to the first quote, backslash, control character or
            // non-ASCII byte.
            while p + 8 <= end {
                let mask = JSONParser.specialBytes(UInt64(littleEndian: UnsafeRawPointer(bytes + p).loadUnaligned(as: UInt64.self)))
                if mask != 0 {
                    p += mask.trailingZeroBitCount >> 3
                    break
                }
                p += 8
            }
            guard p < end else { throw Failure(offset: quote, reason: "an unterminated string") }
            let c = bytes[p]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                flags = JSONToken.escaped
                p = try escape(at: p)
            } else if c < 0x20 {
                throw Failure(offset: p, reason: "an unescaped control character (\(describe(c))) in a string")
            } else if c >= 0x80 {
                p = try utf8Sequence(at: p)
            } else {
                p += 1
            }
        }
        append(.string, flags: flags, start: quote + 1, length: p - quote - 1)
        pos = p + 1
    }

    /// The high bit of every byte of the word (first byte lowest) that is `"`, `\`, below 0x20,
    /// or 0x80 and above; exact, so the first set bit finds the first such byte.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let highs: UInt64 = 0x8080_8080_8080_8080
        return zeroBytes(w ^ 0x2222_2222_2222_2222) | zeroBytes(w ^ 0x5C5C_5C5C_5C5C_5C5C) | zeroBytes(w & 0xE0E0_E0E0_E0E0_E0E0) | (w & highs)
    }

    /// The high bit of every zero byte of the word, exactly.
    @inline(__always)
    static func zeroBytes(_ v: UInt64) -> UInt64 {
        let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((v & lows) &+ lows) | v | lows)
    }

    /// Checks the escape at `p` (a backslash); returns the offset after it.
    mutating func escape(at p: Int) throws(Failure) -> Int {
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

    mutating func parseNumber() throws(Failure) {
        let start = pos
        var p = pos
        var flags: UInt8 = 0
        if bytes[p] == UInt8(ascii: "-") {
            flags |= JSONToken.negative
            p += 1
        }
        guard p < end, bytes[p] >= 0x30, bytes[p] <= 0x39 else {
            throw Failure(offset: p, reason: p < end ? "unexpected \(describe(bytes[p])) in a number, expected a digit" : "unexpected end of input in a number")
        }
        if bytes[p] == 0x30 {
            p += 1
            if p < end, bytes[p] >= 0x30, bytes[p] <= 0x39 {
                throw Failure(offset: start, reason: "a number with a leading zero")
            }
        } else {
            while p < end, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
        }
        if p < end, bytes[p] == UInt8(ascii: ".") {
            flags |= JSONToken.fractional
            p += 1
            let digits = p
            while p < end, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
            guard p > digits else { throw Failure(offset: p, reason: "a number with no digits after '.'") }
        }
        if p < end, bytes[p] | 0x20 == UInt8(ascii: "e") {
            flags |= JSONToken.fractional
            p += 1
            if p < end, bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") { p += 1 }
            let digits = p
            while p < end, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
            guard p > digits else { throw Failure(offset: p, reason: "a number with no digits in its exponent") }
        }
        append(.number, flags: flags, start: start, length: p - start)
        pos = p
    }

    func describe(_ c: UInt8) -> String {
        switch c {
        case 0x20...0x7E: return "'\(Character(Unicode.Scalar(c)))'"
        default: return "byte 0x\(c < 0x10 ? "0" : "")\(String(c, radix: 16))"
        }
    }
}
