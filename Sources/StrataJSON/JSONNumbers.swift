/// Conversions from the text of a JSON number (already checked against the grammar) to Swift
/// numbers. Integers are exact; floating point uses exact arithmetic when the digits and the
/// power of ten are both exactly representable (Clinger's fast path) and the standard library's
/// correctly rounded parser otherwise.
enum JSONNumbers {
    /// An integer written without fraction or exponent; nil when it does not fit in `T`.
    @inline(__always)
    static func integer<T: FixedWidthInteger>(_ p: UnsafePointer<UInt8>, count: Int) -> T? {
        let negative = p[0] == UInt8(ascii: "-")
        var i = negative ? 1 : 0
        var magnitude: UInt64 = 0
        if count - i <= 19 {
            while i < count {
                magnitude = magnitude &* 10 &+ UInt64(p[i] &- 0x30)
                i += 1
            }
        } else {
            while i < count {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(p[i] &- 0x30))
                if o1 || o2 { return nil }
                magnitude = sum
                i += 1
            }
        }
        return make(magnitude, negative: negative)
    }

    @inline(__always)
    static func make<T: FixedWidthInteger>(_ magnitude: UInt64, negative: Bool) -> T? {
        if !negative { return T(exactly: magnitude) }
        if magnitude == 0 { return 0 }
        guard T.isSigned else { return nil }
        if T.bitWidth > 64 { return T(exactly: magnitude).map { 0 - $0 } }
        guard magnitude <= UInt64(T.max) + 1 else { return nil }
        return T(truncatingIfNeeded: 0 &- magnitude)
    }

    /// An integer written with a fraction or an exponent (`1.0`, `1e2`, `12.50e1`), as Foundation
    /// accepts; nil when its value is not a whole number or does not fit in `T`.
    static func integerFromDecimal<T: FixedWidthInteger>(_ p: UnsafePointer<UInt8>, count: Int) -> T? {
        let negative = p[0] == UInt8(ascii: "-")
        var i = negative ? 1 : 0
        var digits: [UInt8] = []
        var fractionDigits = 0
        var inFraction = false
        while i < count {
            let c = p[i]
            if c == UInt8(ascii: ".") {
                inFraction = true
            } else if c >= 0x30 && c <= 0x39 {
                if !(digits.isEmpty && c == 0x30) { digits.append(c - 0x30) }
                if inFraction { fractionDigits += 1 }
            } else {
                break
            }
            i += 1
        }
        var exponent = 0
        if i < count {
            i += 1
            var exponentNegative = false
            if p[i] == UInt8(ascii: "-") { exponentNegative = true; i += 1 } else if p[i] == UInt8(ascii: "+") { i += 1 }
            while i < count {
                exponent = min(exponent * 10 + Int(p[i] - 0x30), 1_000_000)
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        // Leading zeros were skipped, so `digits` holds only the significant part; the value is
        // digits × 10^(exponent − fractionDigits).
        var scale = exponent - fractionDigits
        if digits.isEmpty { return 0 }
        if scale < 0 {
            guard -scale <= digits.count, digits.suffix(-scale).allSatisfy({ $0 == 0 }) else { return nil }
            digits.removeLast(-scale)
            scale = 0
        }
        var magnitude: UInt64 = 0
        for d in digits {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if scale > 19 { return nil }
        for _ in 0..<scale {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            magnitude = times10
        }
        return make(magnitude, negative: negative)
    }

    static let powersOf10: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }
    static let powersOf10Float: [Float] = (0...10).map { e in (0..<e).reduce(Float(1)) { r, _ in r * 10 } }

    /// The significant digits (at most 19) and decimal exponent of a number: the value is
    /// ±mantissa × 10^exponent. Nil when there are more than 19 significant digits.
    @inline(__always)
    static func decompose(_ p: UnsafePointer<UInt8>, count: Int) -> (mantissa: UInt64, exponent: Int, negative: Bool)? {
        let negative = p[0] == UInt8(ascii: "-")
        var i = negative ? 1 : 0
        var mantissa: UInt64 = 0
        var significant = 0
        var scale = 0
        var inFraction = false
        while i < count {
            let c = p[i]
            if c == UInt8(ascii: ".") {
                inFraction = true
            } else if c >= 0x30 && c <= 0x39 {
                if mantissa != 0 || c != 0x30 {
                    significant += 1
                    if significant > 19 { return nil }
                    mantissa = mantissa &* 10 &+ UInt64(c - 0x30)
                }
                if inFraction { scale -= 1 }
            } else {
                break
            }
            i += 1
        }
        if i < count {
            i += 1
            var exponentNegative = false
            if p[i] == UInt8(ascii: "-") { exponentNegative = true; i += 1 } else if p[i] == UInt8(ascii: "+") { i += 1 }
            var exponent = 0
            while i < count {
                exponent = min(exponent * 10 + Int(p[i] - 0x30), 1_000_000)
                i += 1
            }
            scale += exponentNegative ? -exponent : exponent
        }
        return (mantissa, scale, negative)
    }

    /// A finite `Double`, correctly rounded; nil when the number is too large for one.
    static func double(_ p: UnsafePointer<UInt8>, count: Int, integral: Bool) -> Double? {
        if integral && count <= 15 {
            let negative = p[0] == UInt8(ascii: "-")
            var i = negative ? 1 : 0
            var magnitude: UInt64 = 0
            while i < count {
                magnitude = magnitude &* 10 &+ UInt64(p[i] &- 0x30)
                i += 1
            }
            let value = Double(magnitude)
            return negative ? -value : value
        }
        if let (mantissa, exponent, negative) = decompose(p, count: count), mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOf10[-exponent] : value * powersOf10[exponent]
            return negative ? -value : value
        }
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// A finite `Float`, correctly rounded; nil when the number is too large for one.
    static func float(_ p: UnsafePointer<UInt8>, count: Int, integral: Bool) -> Float? {
        if let (mantissa, exponent, negative) = decompose(p, count: count), mantissa <= 1 << 24, exponent >= -10, exponent <= 10 {
            var value = Float(mantissa)
            value = exponent < 0 ? value / powersOf10Float[-exponent] : value * powersOf10Float[exponent]
            return negative ? -value : value
        }
        // As in Foundation, a value beyond Float's range, or one that is not zero but rounds to
        // zero, does not fit.
        let text = String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
        guard let value = Float(text), value.isFinite else { return nil }
        if value == 0 && double(p, count: count, integral: integral) != 0 { return nil }
        return value
    }
}
