import Foundation

/// Writes JSON into a byte buffer by hand, so that keys come out in the order they are written
/// (JSONSerialization sorts nothing reliably and is slow at writing).
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8] = []
    /// One entry per open container: whether it already holds an element.
    private var needsComma: [Bool] = []
    /// Whether a key was just written, so the next value needs no comma.
    private var afterKey = false

    /// Creates an empty writer.
    public init() { bytes.reserveCapacity(512) }

    /// Removes what was written since ``bytes`` had `count` bytes: whole values written into
    /// the current container after it already held one (a page cut by size drops its last
    /// events this way), so that the container's state is unchanged.
    public mutating func truncate(to count: Int) {
        bytes.removeSubrange(count...)
    }

    /// Starts an object (as a value, or at the top).
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    /// Ends the current object.
    public mutating func endObject() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    /// Starts an array.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    /// Ends the current array.
    public mutating func endArray() {
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes an object key; the next call writes its value.
    public mutating func key(_ name: String) {
        separate()
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// Writes a string value.
    public mutating func string(_ value: String) {
        separate()
        appendString(value)
    }

    /// Writes an unsigned integer.
    public mutating func number(_ value: UInt64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes an integer.
    public mutating func number(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a 64-bit integer.
    public mutating func number(_ value: Int64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a finite double in the shortest form that reads back the same (`null` otherwise).
    public mutating func number(_ value: Double) {
        separate()
        if !value.isFinite {
            bytes.append(contentsOf: "null".utf8)
        } else if value == value.rounded(), abs(value) < 1e15 {
            bytes.append(contentsOf: String(Int64(value)).utf8)
        } else {
            bytes.append(contentsOf: "\(value)".utf8)
        }
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Embeds bytes that are already one valid JSON value. Line breaks (which in valid JSON can
    /// only be whitespace between tokens) become spaces, so that the output stays one line.
    public mutating func rawJSON(_ data: Data) {
        separate()
        for b in data {
            bytes.append(b == 0x0A || b == 0x0D ? 0x20 : b)
        }
    }

    /// Writes a key and a string value.
    public mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    /// Writes a key and a number value.
    public mutating func field(_ name: String, _ value: UInt64) {
        key(name)
        number(value)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(JSONWriter.hex[Int(b >> 4)])
                bytes.append(JSONWriter.hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
