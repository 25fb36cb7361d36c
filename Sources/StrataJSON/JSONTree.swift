import Synchronization

/// A JSON text checked and laid out by Strata's one JSON parser (the one ``StrataJSONDecoder``
/// uses): every value and object key is a **node**, numbered in document order from 0 (the
/// root). A container's members follow it (for objects: key, value, key, value …), and
/// ``next(_:)`` gives the node after a value and everything inside it, so a value is skipped in
/// one step.
///
/// Everything that reads JSON in Strata builds on it: ``JSONValue``, the documents' values, the
/// syntax check of event payloads (``JSONSyntax``), the field scanner of bulk input
/// (``JSONObjectFields``). A tree is valid only inside the closure of `parse(_:options:_:)`;
/// parsing reuses pooled memory, so it allocates nothing once warm.
///
/// ```swift
/// let names = try JSONTree.parse(bytes) { tree -> [String] in
///     var names: [String] = []
///     tree.forEachMember(of: tree.root) { key, _ in names.append(tree.string(key)) }
///     return names
/// }
/// ```
public struct JSONTree {
    let tokens: UnsafeMutablePointer<JSONToken>
    let bytes: UnsafePointer<UInt8>
    let byteCount: Int
    /// The number of nodes.
    public let count: Int

    /// What a node is.
    public enum Kind: Sendable, Hashable {
        /// An object; its members follow it as key and value nodes.
        case object
        /// An array; its elements follow it.
        case array
        /// A string (an object key is a string node too).
        case string
        /// A number.
        case number
        /// `true` or `false`.
        case bool
        /// `null`.
        case null
    }

    /// A number's value: an integer when it is written without fraction or exponent and fits in
    /// 64 bits, a `Double` (correctly rounded) otherwise.
    public enum Number: Sendable, Hashable {
        /// An exact integer.
        case integer(Int64)
        /// Any other number (finite).
        case double(Double)
    }

    /// How `parse(_:options:_:)` reads its input.
    public struct Options: Sendable {
        /// The deepest nesting of arrays and objects accepted (at most 512, the default).
        public var maxDepth: Int
        /// Whether a UTF-8 byte order mark before the value is skipped (by default it is refused:
        /// RFC 8259 forbids sending one).
        public var skipsByteOrderMark: Bool

        /// Options with the given limits.
        public init(maxDepth: Int = JSONTree.maxDepth, skipsByteOrderMark: Bool = false) {
            self.maxDepth = maxDepth
            self.skipsByteOrderMark = skipsByteOrderMark
        }
    }

    /// The deepest nesting any reader accepts.
    public static let maxDepth = JSONTape.maxDepth

    /// Checks `bytes` as one JSON text (RFC 8259: UTF-8, escapes, surrogate pairs, no trailing
    /// commas, nothing after the value) and calls `body` with its tree.
    /// - Throws: ``StrataJSONSyntaxError`` with the line, column and byte offset of the first
    ///   problem, or what `body` throws.
    public static func parse<R>(_ bytes: UnsafeRawBufferPointer, options: Options = Options(), _ body: (JSONTree) throws -> R) throws -> R {
        let tape = JSONTapePool.take()
        defer { JSONTapePool.give(back: tape) }
        let tree = try parse(bytes, options: options, into: tape)
        return try body(tree)
    }

    /// `parse(_:options:_:)` over any contiguous bytes (`Data`, `[UInt8]`, a slice).
    public static func parse<R>(_ bytes: some Collection<UInt8>, options: Options = Options(), _ body: (JSONTree) throws -> R) throws -> R {
        if let result = try bytes.withContiguousStorageIfAvailable({ try parse(UnsafeRawBufferPointer($0), options: options, body) }) {
            return result
        }
        return try Array(bytes).withUnsafeBytes { try parse($0, options: options, body) }
    }

    /// Whether `bytes` are one valid JSON text (and, with `object`, whose top level is an object),
    /// every number in `Double`'s range. Allocates nothing once warm.
    public static func isValid(_ bytes: UnsafeRawBufferPointer, object: Bool = false) -> Bool {
        let tape = JSONTapePool.take()
        defer { JSONTapePool.give(back: tape) }
        guard let tree = try? parse(bytes, options: Options(), into: tape) else { return false }
        if object && tree.kind(0) != .object { return false }
        return tree.firstNumberOutOfRange() == nil
    }

    /// The first number node beyond `Double`'s range (`1e400`), nil when there is none: the
    /// grammar allows such numbers, but no reader in Strata accepts them.
    public func firstNumberOutOfRange() -> Int? {
        for node in 0..<count where tokens[node].kind == .number {
            let token = tokens[node]
            // Only a number with an exponent or hundreds of digits can leave Double's range.
            if token.flags & JSONToken.fractional != 0 || token.length > 300, number(node) == nil { return node }
        }
        return nil
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, options: Options, into tape: JSONTape) throws(StrataJSONSyntaxError) -> JSONTree {
        guard bytes.count < Int(UInt32.max) else {
            throw StrataJSONSyntaxError(offset: 0, line: 1, column: 1, reason: "documents of 4 GiB and more are not supported")
        }
        let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? JSONTapePool.emptyInput
        var parser = JSONParser(bytes: base, count: bytes.count, tape: tape)
        parser.maxDepth = options.maxDepth
        parser.skipsByteOrderMark = options.skipsByteOrderMark
        do {
            try parser.parseDocument()
        } catch {
            throw StrataJSONSyntaxError(offset: error.offset, in: UnsafeRawBufferPointer(start: base, count: bytes.count), reason: error.reason)
        }
        return JSONTree(tokens: tape.tokens, bytes: base, byteCount: bytes.count, count: tape.count)
    }

    // MARK: Nodes

    /// The root node (0).
    public var root: Int { 0 }

    /// What node `node` is.
    @inline(__always)
    public func kind(_ node: Int) -> Kind {
        switch tokens[node].kind {
        case .object: .object
        case .array: .array
        case .string: .string
        case .number: .number
        case .true, .false: .bool
        case .null: .null
        }
    }

    /// The node after `node` and everything inside it.
    @inline(__always)
    public func next(_ node: Int) -> Int { Int(tokens[node].next) }

    /// The members of an object or the elements of an array.
    @inline(__always)
    public func elementCount(_ node: Int) -> Int { Int(tokens[node].length) }

    /// Calls `body` with the key node and the value node of each member of the object `node`, in
    /// document order (a repeated key comes once per occurrence).
    @inline(__always)
    public func forEachMember(of node: Int, _ body: (_ key: Int, _ value: Int) throws -> Void) rethrows {
        var key = node + 1
        for _ in 0..<elementCount(node) {
            try body(key, key + 1)
            key = next(key + 1)
        }
    }

    /// Calls `body` with each element node of the array `node`, in order.
    @inline(__always)
    public func forEachElement(of node: Int, _ body: (Int) throws -> Void) rethrows {
        var element = node + 1
        for _ in 0..<elementCount(node) {
            try body(element)
            element = next(element)
        }
    }

    /// The value node of the first member named `key` of the object `node`, nil when it has none.
    public func member(_ key: String, of node: Int) -> Int? {
        var key = key
        return key.withUTF8 { wanted in
            var candidate = node + 1
            for _ in 0..<elementCount(node) {
                if stringEquals(candidate, UnsafeRawBufferPointer(wanted)) { return candidate + 1 }
                candidate = next(candidate + 1)
            }
            return nil
        }
    }

    /// The value of a `true` or `false` node.
    @inline(__always)
    public func bool(_ node: Int) -> Bool { tokens[node].kind == .true }

    /// The text of a string node, escapes decoded.
    public func string(_ node: Int) -> String {
        let token = tokens[node]
        let start = bytes + Int(token.start)
        let length = Int(token.length)
        if token.flags & JSONToken.escaped == 0 {
            return String(decoding: UnsafeBufferPointer(start: start, count: length), as: UTF8.self)
        }
        // Decoding only shortens the text, so the escaped length is enough room.
        return String(unsafeUninitializedCapacity: length) { out in
            JSONTree.unescape(start, count: length, into: out.baseAddress!)
        }
    }

    /// Whether the string node's decoded text equals the UTF-8 bytes `utf8`.
    public func stringEquals(_ node: Int, _ utf8: UnsafeRawBufferPointer) -> Bool {
        let token = tokens[node]
        if token.flags & JSONToken.escaped == 0 {
            guard Int(token.length) == utf8.count else { return false }
            let start = bytes + Int(token.start)
            for i in 0..<utf8.count where start[i] != utf8[i] { return false }
            return true
        }
        return string(node).utf8.elementsEqual(utf8)
    }

    /// The value of a number node; nil when it is beyond `Double`'s range (`1e400`).
    public func number(_ node: Int) -> Number? {
        let token = tokens[node]
        let start = bytes + Int(token.start)
        let length = Int(token.length)
        let integral = token.flags & JSONToken.fractional == 0
        if integral, let value: Int64 = JSONNumbers.integer(start, count: length) { return .integer(value) }
        return JSONNumbers.double(start, count: length, integral: integral).map { .double($0) }
    }

    /// The bytes of the value `node` as written: quotes included for strings, brackets for
    /// containers.
    public func byteRange(_ node: Int) -> Range<Int> {
        let token = tokens[node]
        let start = Int(token.start)
        switch token.kind {
        case .string: return (start - 1)..<(start + Int(token.length) + 1)
        case .number, .true, .false, .null: return start..<(start + Int(token.length))
        case .object, .array:
            // After the last element (or the opening bracket) only whitespace stands before the
            // closing bracket.
            var p = start + 1
            if token.length > 0 {
                // Keys and values alternate in an object, so the last node visited is its last value.
                var last = node + 1
                var child = node + 1
                while child < Int(token.next) {
                    last = child
                    child = next(child)
                }
                p = byteRange(last).upperBound
            }
            while bytes[p] != UInt8(ascii: "}") && bytes[p] != UInt8(ascii: "]") { p += 1 }
            return start..<(p + 1)
        }
    }

    /// The byte offset of node `node` in the input (where ``byteRange(_:)`` starts).
    public func offset(_ node: Int) -> Int { byteRange(node).lowerBound }

    /// An error about node `node` (a value the grammar allows but a reader refuses), with its
    /// line, column and byte offset.
    public func syntaxError(at node: Int, _ reason: String) -> StrataJSONSyntaxError {
        StrataJSONSyntaxError(offset: offset(node), in: UnsafeRawBufferPointer(start: bytes, count: byteCount), reason: reason)
    }

    /// Writes the decoded bytes of a string's escaped text; returns how many. The parser checked
    /// every escape, so none is checked again.
    static func unescape(_ source: UnsafePointer<UInt8>, count length: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var p = 0
        var o = 0
        while p < length {
            let c = source[p]
            if c != UInt8(ascii: "\\") {
                out[o] = c
                o += 1
                p += 1
                continue
            }
            let e = source[p + 1]
            p += 2
            switch e {
            case UInt8(ascii: "b"): out[o] = 0x08
            case UInt8(ascii: "f"): out[o] = 0x0C
            case UInt8(ascii: "n"): out[o] = 0x0A
            case UInt8(ascii: "r"): out[o] = 0x0D
            case UInt8(ascii: "t"): out[o] = 0x09
            case UInt8(ascii: "u"):
                var scalar = hex4(source + p)
                p += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(source + p + 2)
                    p += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                o += writeUTF8(scalar, to: out + o)
                continue
            default: out[o] = e
            }
            o += 1
        }
        return o
    }

    private static func hex4(_ p: UnsafePointer<UInt8>) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 4 | (JSONParser.hexValue(p[i]) ?? 0) }
        return value
    }

    /// Writes a scalar as UTF-8 (at most 4 bytes; an escape takes 6 or 12 bytes, so the
    /// unescaped text never outgrows the escaped one).
    static func writeUTF8(_ scalar: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            out[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | scalar >> 6)
            out[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | scalar >> 12)
            out[1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            out[0] = UInt8(0xF0 | scalar >> 18)
            out[1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            out[2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            out[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}

/// Parse tapes kept for reuse by ``JSONTree``, so that a warm parse allocates nothing. A tape
/// is used by one parse at a time.
enum JSONTapePool {
    private static let idle = Mutex<[JSONTape]>([])
    /// How many idle tapes are kept (one per thread parsing at once is plenty).
    private static let kept = 16
    /// What an empty input's base address is.
    nonisolated(unsafe) static let emptyInput: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    static func take() -> JSONTape {
        idle.withLock { $0.popLast() } ?? JSONTape()
    }

    static func give(back tape: JSONTape) {
        // A tape grown for a huge document is dropped rather than kept.
        guard tape.capacity <= 1 << 16 else { return }
        idle.withLock { tapes in
            if tapes.count < kept { tapes.append(tape) }
        }
    }
}
