/// The growable byte buffer the encoder writes into, kept between calls.
///
/// Its properties skip Swift's run-time exclusivity checks: the buffer belongs to one encode at a
/// time and no access to it overlaps another (none is held across a call that could reach it).
final class JSONOutput {
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private(set) var capacity: Int
    @exclusivity(unchecked) var count = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func reserve(_ n: Int) {
        if count + n > capacity { grow(n) }
    }

    private func grow(_ n: Int) {
        var newCapacity = capacity * 2
        while newCapacity < count + n { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inline(__always)
    func appendByte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    @inline(__always)
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Writes a non-negative number with at least `width` digits, zero-padded.
    func appendDigits(_ value: Int, width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        let n = max(digits, width)
        reserve(n)
        var v = value
        for i in stride(from: n - 1, through: 0, by: -1) {
            base[count + i] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
            v /= 10
        }
        count += n
    }

    /// Writes an integer in decimal.
    @inline(__always)
    func appendInteger<T: FixedWidthInteger>(_ value: T) {
        if T.bitWidth > 64 {
            var text = String(value)
            text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
            return
        }
        appendDecimal(UInt64(truncatingIfNeeded: value.magnitude), negative: value < 0)
    }

    /// Writes a magnitude with an optional minus sign.
    func appendDecimal(_ value: UInt64, negative: Bool) {
        reserve(21)
        var o = count
        if negative {
            base[o] = UInt8(ascii: "-")
            o &+= 1
        }
        var digits = 1
        var probe = value / 10
        while probe > 0 {
            digits &+= 1
            probe /= 10
        }
        var magnitude = value
        var i = o &+ digits &- 1
        repeat {
            base[i] = UInt8(truncatingIfNeeded: 0x30 &+ magnitude % 10)
            magnitude /= 10
            i &-= 1
        } while magnitude > 0
        count = o &+ digits
    }

    /// Writes a finite floating-point number in its shortest form that reads back the same,
    /// as Foundation writes it (`100` rather than `100.0`, `1e-05`, `1.5e+300`).
    func appendFloatingPoint(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            var n = utf8.count
            if n >= 2 && utf8[n - 2] == UInt8(ascii: ".") && utf8[n - 1] == UInt8(ascii: "0") { n -= 2 }
            append(UnsafeRawBufferPointer(start: utf8.baseAddress, count: n))
        }
    }

    /// Writes a string in quotes: `"` `\` and control characters escaped, everything else
    /// (including non-ASCII, as UTF-8) as it is.
    @inline(__always)
    func appendString(_ string: String) {
        var string = string
        string.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0)) }
    }

    func appendEscaped(_ utf8: UnsafeRawBufferPointer) {
        let n = utf8.count
        // Room for the worst case (every byte a six-byte escape) up front, so the loop writes
        // through a local pointer.
        reserve(n &* 6 &+ 2)
        let out = base
        var o = count
        out[o] = UInt8(ascii: "\"")
        o &+= 1
        if let source = utf8.baseAddress {
            var start = 0
            var i = JSONOutput.nextEscaped(utf8, from: 0)
            while i < n {
                (out + o).update(from: source.assumingMemoryBound(to: UInt8.self) + start, count: i &- start)
                o &+= i &- start
                o = JSONOutput.writeEscape(source.load(fromByteOffset: i, as: UInt8.self), to: out, at: o)
                start = i &+ 1
                i = JSONOutput.nextEscaped(utf8, from: start)
            }
            (out + o).update(from: source.assumingMemoryBound(to: UInt8.self) + start, count: n &- start)
            o &+= n &- start
        }
        out[o] = UInt8(ascii: "\"")
        count = o &+ 1
    }

    /// The offset of the first byte at or after `start` that a JSON string must escape (`"`,
    /// `\\`, or below 0x20); `utf8.count` when there is none. Eight bytes at a time.
    @inline(__always)
    static func nextEscaped(_ utf8: UnsafeRawBufferPointer, from start: Int) -> Int {
        let n = utf8.count
        var i = start
        while i &+ 8 <= n {
            let mask = escapedBytes(UInt64(littleEndian: utf8.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            // The lowest set bit is exact (bits above it may be false positives).
            if mask != 0 { return i &+ (mask.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < n {
            let c = utf8[i]
            if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { return i }
            i &+= 1
        }
        return n
    }

    /// A word whose lowest set bit is the high bit of the first byte of `w` (first byte lowest)
    /// that is `"`, `\\` or below 0x20; zero when there is none (bits above it may be false
    /// positives).
    @inline(__always)
    static func escapedBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = w ^ 0x2222_2222_2222_2222
        let backslashes = w ^ 0x5C5C_5C5C_5C5C_5C5C
        return (((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((w &- 0x2020_2020_2020_2020) & ~w))
            & 0x8080_8080_8080_8080
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Writes the escape of `c` at `o`; returns the offset after it.
    static func writeEscape(_ c: UInt8, to out: UnsafeMutablePointer<UInt8>, at o: Int) -> Int {
        out[o] = UInt8(ascii: "\\")
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out[o &+ 1] = c
        case 0x0A: out[o &+ 1] = UInt8(ascii: "n")
        case 0x0D: out[o &+ 1] = UInt8(ascii: "r")
        case 0x09: out[o &+ 1] = UInt8(ascii: "t")
        case 0x08: out[o &+ 1] = UInt8(ascii: "b")
        case 0x0C: out[o &+ 1] = UInt8(ascii: "f")
        default:
            let hex = JSONOutput.hexDigits.utf8Start
            out[o &+ 1] = UInt8(ascii: "u")
            out[o &+ 2] = UInt8(ascii: "0")
            out[o &+ 3] = UInt8(ascii: "0")
            out[o &+ 4] = hex[Int(c &>> 4)]
            out[o &+ 5] = hex[Int(c & 0xF)]
            return o &+ 6
        }
        return o &+ 2
    }
}
