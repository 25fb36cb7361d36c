/// The decoder's hot path: raw pointers to the tape and the input, copied into each keyed
/// container so that finding a member and converting a scalar touch no class (no reference
/// counting, no exclusivity checks). Anything unusual — escaped keys, snake-case keys, errors —
/// goes to ``JSONDecodingState``.
struct JSONView {
    let tokens: UnsafeMutablePointer<JSONToken>
    let bytes: UnsafePointer<UInt8>
    let convertsSnakeCase: Bool

    /// Sentinel from ``member(_:in:)``: the state must do this lookup.
    static let askState = -2

    /// The tape index of `key`'s value in `object`, nil when absent, or ``askState`` when a key of
    /// the object is escaped or keys are converted.
    @inline(__always)
    func member(_ key: UnsafeRawBufferPointer, in object: Int) -> Int? {
        if convertsSnakeCase { return JSONView.askState }
        let t = tokens
        let members = Int(t[object].length)
        guard members > 0 else { return nil }
        let first = object + 1
        let end = Int(t[object].next)
        let repeats = t[object].flags & JSONToken.mayRepeatKeys != 0
        var i = repeats || t[object].hint == 0 ? first : Int(t[object].hint)
        let n = key.count
        for _ in 0..<members {
            let token = t[i]
            if token.flags & JSONToken.escaped != 0 { return JSONView.askState }
            let after = Int(t[i + 1].next)
            if Int(token.length) == n && JSONDecodingState.equal(bytes + Int(token.start), key, count: n) {
                if !repeats { t[object].hint = UInt32(truncatingIfNeeded: after == end ? first : after) }
                return i + 1
            }
            i = after == end ? first : after
        }
        return nil
    }

    @inline(__always)
    func isNull(_ index: Int) -> Bool { tokens[index].kind == .null }

    /// The string at `index` when it is an unescaped string.
    @inline(__always)
    func plainString(_ index: Int) -> String? {
        let token = tokens[index]
        guard token.kind == .string, token.flags & JSONToken.escaped == 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes + Int(token.start), count: Int(token.length)), as: UTF8.self)
    }

    /// The integer at `index` when it is a number without fraction or exponent that fits.
    @inline(__always)
    func integer<T: FixedWidthInteger>(_ index: Int) -> T? {
        let token = tokens[index]
        guard token.kind == .number, token.flags & JSONToken.fractional == 0 else { return nil }
        return JSONNumbers.integer(bytes + Int(token.start), count: Int(token.length))
    }

    /// `integer(_:)` for `Int`, written out so that it is not merged with the other widths.
    @inline(__always)
    func int(_ index: Int) -> Int? {
        let token = tokens[index]
        guard token.kind == .number, token.flags & JSONToken.fractional == 0, token.length <= 18 else { return nil }
        let p = bytes + Int(token.start)
        let count = Int(token.length)
        let negative = p[0] == UInt8(ascii: "-")
        var i = negative ? 1 : 0
        var magnitude = 0
        while i < count {
            magnitude = magnitude &* 10 &+ Int(p[i] &- 0x30)
            i += 1
        }
        return negative ? 0 &- magnitude : magnitude
    }

    @inline(__always)
    func double(_ index: Int) -> Double? {
        let token = tokens[index]
        guard token.kind == .number else { return nil }
        return JSONNumbers.double(bytes + Int(token.start), count: Int(token.length), integral: token.flags & JSONToken.fractional == 0)
    }

    @inline(__always)
    func bool(_ index: Int) -> Bool? {
        switch tokens[index].kind {
        case .true: return true
        case .false: return false
        default: return nil
        }
    }
}
