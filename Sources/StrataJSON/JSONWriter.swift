import Foundation

/// Strata's one JSON writer: compact JSON into a byte buffer, keys in the order they are written.
///
/// The instance methods write a document value by value (the HTTP API's responses, the CLI's
/// output); the static ones append one value to any byte buffer (documents, snapshots, the
/// emitter's batches). Strings are escaped as ``StrataJSONEncoder`` escapes them (`"` `\` and
/// control characters; `\n`-style short forms where JSON has one), numbers written in their
/// shortest form that reads back the same.
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

    /// Writes an integer.
    public mutating func number(_ value: some BinaryInteger) {
        separate()
        JSONWriter.appendInteger(value, to: &bytes)
    }

    /// Writes a finite double in the shortest form that reads back the same, without a `.0` on
    /// whole numbers (`null` for NaN and infinities).
    public mutating func number(_ value: Double) {
        separate()
        JSONWriter.appendDouble(value, to: &bytes)
    }

    /// Writes a ``JSONValue``, object members in their stored order.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .integer(let i): number(i)
        case .number(let d): number(d)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
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

    private mutating func appendString(_ s: String) {
        JSONWriter.appendString(s, to: &bytes)
    }

    // MARK: Values into any buffer

    /// Appends a string in quotes, escaped.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(utf8: UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends UTF-8 text in quotes, escaped.
    public static func appendString(utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var start = 0
        var i = JSONOutput.nextEscaped(utf8, from: 0)
        while i < utf8.count {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[start..<i]))
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 6) { escape in
                let length = JSONOutput.writeEscape(utf8[i], to: escape.baseAddress!, at: 0)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: escape[..<length]))
            }
            start = i &+ 1
            i = JSONOutput.nextEscaped(utf8, from: start)
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[start...]))
        out.append(UInt8(ascii: "\""))
    }

    /// A string as a JSON string literal (for messages that quote a name).
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        appendString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends an integer in decimal.
    public static func appendInteger(_ value: some BinaryInteger, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") &+ UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    /// Appends a finite double in its shortest form that reads back the same: `100`, `2.5`,
    /// `1e-05`; with `keepsFraction`, whole numbers keep their `.0` (`100.0`), so that the text
    /// reads back as a double rather than an integer. NaN and infinities are written as `null`.
    public static func appendDouble(_ value: Double, keepsFraction: Bool = false, to out: inout [UInt8]) {
        guard value.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        var text = value.description
        if !keepsFraction, text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }
}
