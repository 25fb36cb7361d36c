/// What one tape entry holds.
enum JSONTokenKind: UInt8 {
    case object, array, string, number, `true`, `false`, null
}

/// One entry of the tape: a value, or an object key, in document order. A container's entry is
/// followed by its elements (for objects: key, value, key, value …), and `next` says where the
/// entry after the whole container is, so a value is skipped in one step.
struct JSONToken {
    var kind: JSONTokenKind
    var flags: UInt8
    /// Byte offset of the value: after the opening quote for strings, the first character for
    /// numbers, the bracket for containers.
    var start: UInt32
    /// Bytes between the quotes (strings), bytes of the number, elements of a container
    /// (members for objects).
    var length: UInt32
    /// The tape index after this value and everything inside it.
    var next: UInt32
    /// Objects: the tape index of the key where the next key search starts (0: the first).
    var hint: UInt32

    /// Strings: the text contains a backslash escape.
    static let escaped: UInt8 = 1
    /// Numbers: a fraction or an exponent is present.
    static let fractional: UInt8 = 1
    /// Numbers: a leading minus sign.
    static let negative: UInt8 = 2
    /// Objects: two keys may be equal, so key lookups scan from the first member.
    static let mayRepeatKeys: UInt8 = 1
    /// Objects: decoded as `[String: Value]`, so coding paths use its keys as they are.
    static let dictionaryKeys: UInt8 = 2
}

/// The parser's working memory, kept between documents so that parsing allocates nothing once
/// it has seen the largest document. One parse uses it at a time (its owner, or the pool that
/// lends it: hence `@unchecked Sendable`).
final class JSONTape: @unchecked Sendable {
    /// The deepest nesting accepted (as Foundation's).
    static let maxDepth = 512

    private(set) var tokens: UnsafeMutablePointer<JSONToken>
    private(set) var capacity: Int
    /// Open containers while parsing: their tape indices.
    let open: UnsafeMutablePointer<UInt32>
    /// Per open container: the key of the member being parsed (objects), or 1 while an element
    /// is being parsed (arrays); 0 otherwise. Only error messages read it.
    let member: UnsafeMutablePointer<UInt32>
    /// Per open object: a 128-bit filter of the key hashes seen (for repeated keys).
    let seenLow: UnsafeMutablePointer<UInt64>
    let seenHigh: UnsafeMutablePointer<UInt64>
    /// The number of valid entries.
    var count = 0

    init() {
        capacity = 64
        tokens = .allocate(capacity: capacity)
        open = .allocate(capacity: JSONTape.maxDepth + 1)
        member = .allocate(capacity: JSONTape.maxDepth + 1)
        seenLow = .allocate(capacity: JSONTape.maxDepth + 1)
        seenHigh = .allocate(capacity: JSONTape.maxDepth + 1)
    }

    deinit {
        tokens.deallocate()
        open.deallocate()
        member.deallocate()
        seenLow.deallocate()
        seenHigh.deallocate()
    }

    /// Makes room for the most tokens `byteCount` bytes can hold: every token after the first
    /// takes at least two bytes with its separator (`1,` `"":` `[]`).
    func reserve(forBytes byteCount: Int) {
        let needed = byteCount / 2 + 2
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        tokens.deallocate()
        tokens = .allocate(capacity: newCapacity)
        capacity = newCapacity
    }
}
