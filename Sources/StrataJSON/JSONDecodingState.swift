import Foundation

/// Everything one decode works with: the input, its tape, the options and scratch memory.
/// Kept by a ``StrataJSONDecoder`` between calls so that steady-state decoding reuses its memory.
final class JSONDecodingState {
    let tape = JSONTape()
    /// The input of the decode in progress. Valid only while it runs.
    // The hot properties skip run-time exclusivity checks: the state belongs to one decode at a
    // time, and no access to them is held across a call that could reach them again.
    @exclusivity(unchecked) private(set) var bytes: UnsafePointer<UInt8>
    @exclusivity(unchecked) private(set) var byteCount = 0
    @exclusivity(unchecked) private(set) var tokens: UnsafeMutablePointer<JSONToken>
    /// Whether a decode is using this state (a `Decodable` that decodes another document with the
    /// same decoder gets a state of its own).
    var busy = false

    var dateStrategy: StrataJSONDecoder.DateDecodingStrategy = .deferredToDate
    var dataStrategy: StrataJSONDecoder.DataDecodingStrategy = .base64
    @exclusivity(unchecked) var convertsSnakeCase = false
    var userInfo: [CodingUserInfoKey: Any] = [:]

    /// Unescaped string bytes.
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity = 256
    /// snake_case keys already converted.
    private var camelCaseKeys: [String: String] = [:]
    private let types = CodableTypeCache()
    /// Keyed containers, reused once the `init(from:)` that asked for one returns.
    let containers = KeyedContainerPool()

    /// What `bytes` points at between decodes and for empty input.
    private let empty: UnsafeMutablePointer<UInt8>

    init() {
        tokens = tape.tokens
        scratch = .allocate(capacity: scratchCapacity)
        empty = .allocate(capacity: 1)
        empty.initialize(to: 0)
        bytes = UnsafePointer(empty)
    }

    deinit {
        scratch.deallocate()
        empty.deallocate()
    }

    // MARK: - Parsing

    /// Parses the input into the tape. Throws `DecodingError.dataCorrupted` for invalid JSON.
    func parse(_ input: UnsafeRawBufferPointer) throws {
        guard input.count < Int(UInt32.max) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON: documents of 4 GiB and more are not supported."))
        }
        bytes = input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(empty)
        byteCount = input.count
        var parser = JSONParser(bytes: bytes, count: byteCount, tape: tape)
        tokens = tape.tokens
        do {
            try parser.parseDocument()
        } catch {
            let path = syntaxErrorPath(depth: parser.depth, tokenCount: parser.count)
            let syntax = StrataJSONSyntaxError(offset: error.offset, in: UnsafeRawBufferPointer(start: bytes, count: byteCount), reason: error.reason)
            throw DecodingError.dataCorrupted(.init(
                codingPath: path,
                debugDescription: "The given data was not valid JSON: \(error.reason) at byte offset \(error.offset).",
                underlyingError: syntax))
        }
    }

    /// Forgets the input once a decode is over.
    func finish() {
        bytes = UnsafePointer(empty)
        byteCount = 0
        tape.count = 0
    }

    /// The path to where parsing stopped: the members and elements that were open.
    private func syntaxErrorPath(depth: Int, tokenCount: Int) -> [any CodingKey] {
        var path: [any CodingKey] = []
        for level in 0..<depth {
            let container = Int(tape.open[level])
            let member = Int(tape.member[level])
            guard member != 0, member < tokenCount else { break }
            if tokens[container].kind == .object {
                path.append(StrataJSONKey(stringValue: keyString(member, converted: false)))
            } else {
                path.append(StrataJSONKey(index: Int(tokens[container].length) - 1))
            }
        }
        return path
    }

    /// The hot-path view of the current input.
    var view: JSONView { JSONView(tokens: tokens, bytes: bytes, convertsSnakeCase: convertsSnakeCase) }

    // MARK: - Tokens

    @inline(__always)
    func kind(_ index: Int) -> JSONTokenKind {
        index >= 0 ? tokens[index].kind : .null
    }

    @inline(__always)
    func isNull(_ index: Int) -> Bool { index < 0 || tokens[index].kind == .null }

    // MARK: - Keys

    /// The tape index of the value of `key` in the object at `object`, or nil. Keys are compared
    /// as UTF-8 bytes; the search starts after the last match, so members read in document order
    /// cost one comparison each. When two keys may be equal the first one wins, as in Foundation.
    @inline(__always)
    func member(_ key: String, in object: Int) -> Int? {
        var key = key
        return key.withUTF8 { member(UnsafeRawBufferPointer($0), in: object) }
    }

    func member(_ key: UnsafeRawBufferPointer, in object: Int) -> Int? {
        let t = tokens
        let members = Int(t[object].length)
        guard members > 0 else { return nil }
        let first = object + 1
        let end = Int(t[object].next)
        let repeats = t[object].flags & JSONToken.mayRepeatKeys != 0
        var i = repeats || t[object].hint == 0 ? first : Int(t[object].hint)
        for _ in 0..<members {
            let after = Int(t[i + 1].next)
            if keyMatches(i, key) {
                if !repeats { t[object].hint = UInt32(truncatingIfNeeded: after == end ? first : after) }
                return i + 1
            }
            i = after == end ? first : after
        }
        return nil
    }

    @inline(__always)
    private func keyMatches(_ index: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let token = tokens[index]
        if token.flags & JSONToken.escaped == 0 && !convertsSnakeCase {
            guard Int(token.length) == key.count else { return false }
            return JSONDecodingState.equal(bytes + Int(token.start), key, count: key.count)
        }
        let text = keyString(index, converted: convertsSnakeCase)
        var copy = text
        return copy.withUTF8 { $0.count == key.count && JSONDecodingState.equal($0.baseAddress!, key, count: key.count) }
    }

    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard count > 0 else { return true }
        let pa = UnsafeRawPointer(a)
        let pb = b.baseAddress!
        var i = 0
        while i + 8 <= count {
            if pa.loadUnaligned(fromByteOffset: i, as: UInt64.self) != pb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if pa.load(fromByteOffset: i, as: UInt8.self) != pb.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// A key's text, unescaped, and converted from snake case when that strategy is on.
    func keyString(_ index: Int, converted: Bool) -> String {
        let raw = string(index)
        guard converted, raw.utf8.contains(UInt8(ascii: "_")) else { return raw }
        if let known = camelCaseKeys[raw] { return known }
        let camel = SnakeCase.toCamelCase(raw)
        if camelCaseKeys.count >= 4096 { camelCaseKeys.removeAll(keepingCapacity: true) }
        camelCaseKeys[raw] = camel
        return camel
    }

    /// The object's keys in document order, converted when the strategy says so.
    func keys(of object: Int, converted: Bool) -> [(key: String, value: Int)] {
        var result: [(key: String, value: Int)] = []
        result.reserveCapacity(Int(tokens[object].length))
        var i = object + 1
        let end = Int(tokens[object].next)
        while i < end {
            result.append((keyString(i, converted: converted), i + 1))
            i = Int(tokens[i + 1].next)
        }
        return result
    }

    // MARK: - Coding paths

    /// The coding path of the value at `target`, rebuilt from the tape: object keys as written
    /// (converted as lookups convert them) and array positions as `Index N`.
    func codingPath(of target: Int) -> [any CodingKey] {
        var path: [any CodingKey] = []
        var i = 0
        while i < target {
            let token = tokens[i]
            let end = Int(token.next)
            guard target < end else { return path }
            switch token.kind {
            case .object:
                let converted = convertsSnakeCase && token.flags & JSONToken.dictionaryKeys == 0
                var key = i + 1
                while key < end {
                    let after = Int(tokens[key + 1].next)
                    if target < after {
                        path.append(StrataJSONKey(stringValue: keyString(key, converted: converted)))
                        i = key + 1
                        break
                    }
                    key = after
                }
                if key >= end { return path }
            case .array:
                var element = i + 1
                var n = 0
                while element < end {
                    let after = Int(tokens[element].next)
                    if target < after {
                        path.append(StrataJSONKey(index: n))
                        i = element
                        break
                    }
                    element = after
                    n += 1
                }
                if element >= end { return path }
            default:
                return path
            }
        }
        return path
    }

    /// Marks an object as decoded by a `[String: Value]` dictionary, whose keys stay unconverted.
    func markDictionary(_ object: Int) {
        tokens[object].flags |= JSONToken.dictionaryKeys
    }

    // MARK: - Strings

    /// The string at `index`, unescaped. The caller has checked that it is a string.
    func string(_ index: Int) -> String {
        let token = tokens[index]
        if token.flags & JSONToken.escaped == 0 {
            return String(decoding: UnsafeBufferPointer(start: bytes + Int(token.start), count: Int(token.length)), as: UTF8.self)
        }
        let n = unescape(token)
        return String(decoding: UnsafeBufferPointer(start: scratch, count: n), as: UTF8.self)
    }

    /// Calls `body` with the string's UTF-8 bytes, unescaped.
    func withStringBytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let token = tokens[index]
        if token.flags & JSONToken.escaped == 0 {
            return try body(UnsafeRawBufferPointer(start: bytes + Int(token.start), count: Int(token.length)))
        }
        let n = unescape(token)
        return try body(UnsafeRawBufferPointer(start: scratch, count: n))
    }

    /// Writes the unescaped bytes of a string token into `scratch`; returns how many.
    private func unescape(_ token: JSONToken) -> Int {
        let length = Int(token.length)
        if length > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = max(length, scratchCapacity * 2)
            scratch = .allocate(capacity: scratchCapacity)
        }
        return JSONTree.unescape(bytes + Int(token.start), count: length, into: scratch)
    }

    // MARK: - Scalars

    func decodeString(at index: Int, path: CodingPathBox?) throws -> String {
        guard index >= 0, tokens[index].kind == .string else { throw mismatch(String.self, at: index, path: path) }
        return string(index)
    }

    func decodeBool(at index: Int, path: CodingPathBox?) throws -> Bool {
        if index >= 0 {
            switch tokens[index].kind {
            case .true: return true
            case .false: return false
            default: break
            }
        }
        throw mismatch(Bool.self, at: index, path: path)
    }

    @inline(__always)
    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type, at index: Int, path: CodingPathBox?) throws -> T {
        guard index >= 0, tokens[index].kind == .number else { throw mismatch(T.self, at: index, path: path) }
        let token = tokens[index]
        let value: T? = token.flags & JSONToken.fractional == 0
            ? JSONNumbers.integer(bytes + Int(token.start), count: Int(token.length))
            : JSONNumbers.integerFromDecimal(bytes + Int(token.start), count: Int(token.length))
        guard let value else { throw numberOutOfRange(T.self, at: index, path: path) }
        return value
    }

    func decodeDouble(at index: Int, path: CodingPathBox?) throws -> Double {
        guard index >= 0, tokens[index].kind == .number else { throw mismatch(Double.self, at: index, path: path) }
        let token = tokens[index]
        guard let value = JSONNumbers.double(bytes + Int(token.start), count: Int(token.length), integral: token.flags & JSONToken.fractional == 0) else {
            throw numberOutOfRange(Double.self, at: index, path: path)
        }
        return value
    }

    func decodeFloat(at index: Int, path: CodingPathBox?) throws -> Float {
        guard index >= 0, tokens[index].kind == .number else { throw mismatch(Float.self, at: index, path: path) }
        let token = tokens[index]
        guard let value = JSONNumbers.float(bytes + Int(token.start), count: Int(token.length), integral: token.flags & JSONToken.fractional == 0) else {
            throw numberOutOfRange(Float.self, at: index, path: path)
        }
        return value
    }

    /// The number's text as written.
    func numberText(_ index: Int) -> String {
        let token = tokens[index]
        return String(decoding: UnsafeBufferPointer(start: bytes + Int(token.start), count: Int(token.length)), as: UTF8.self)
    }

    // MARK: - Values of any type

    /// Decodes a value of any type: dates, data, URLs, decimals, arrays and `[String: Value]` by
    /// this decoder's own rules, everything else through its `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type, at index: Int, path: CodingPathBox? = nil) throws -> T {
        if T.self == String.self { return reinterpret(try decodeString(at: index, path: path), as: T.self) }
        if T.self == Int.self { return reinterpret(try decodeInteger(Int.self, at: index, path: path), as: T.self) }
        if T.self == Double.self { return reinterpret(try decodeDouble(at: index, path: path), as: T.self) }
        if T.self == Bool.self { return reinterpret(try decodeBool(at: index, path: path), as: T.self) }
        if T.self == Date.self { return reinterpret(try decodeDate(at: index, path: path), as: T.self) }
        if T.self == Data.self { return reinterpret(try decodeData(at: index, path: path), as: T.self) }
        if T.self == URL.self {
            let text = try decodeString(at: index, path: path)
            guard let url = URL(string: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path?.path ?? codingPath(of: index), debugDescription: "Invalid URL string \"\(text)\"."))
            }
            return reinterpret(url, as: T.self)
        }
        if T.self == Decimal.self { return reinterpret(try decodeDecimal(at: index, path: path), as: T.self) }
        if index >= 0 {
            let kind = tokens[index].kind
            if kind == .object || kind == .array {
                let id = ObjectIdentifier(T.self)
                var category = types.category(of: id)
                if category == nil {
                    if let dictionary = T.self as? any StringKeyedDictionaryDecodable.Type {
                        category = .dictionary(dictionary)
                    } else if let array = T.self as? any ArrayDecodable.Type {
                        category = .array(array)
                    } else {
                        category = .plain
                    }
                    types.remember(id, category!)
                }
                switch category! {
                case .dictionary(let dictionary) where kind == .object:
                    return try dictionary.decodeStrataJSON(self, object: index, as: T.self)
                case .array(let array) where kind == .array:
                    return try array.decodeStrataJSON(self, array: index, as: T.self)
                default:
                    break
                }
            }
        }
        let mark = containers.mark
        defer { containers.release(to: mark) }
        return try T(from: JSONValueDecoder(state: self, index: index, path: path))
    }

    private func decodeDate(at index: Int, path: CodingPathBox?) throws -> Date {
        switch dateStrategy {
        case .deferredToDate:
            return try Date(from: JSONValueDecoder(state: self, index: index, path: path))
        case .secondsSince1970:
            return Date(timeIntervalSince1970: try decodeDouble(at: index, path: path))
        case .millisecondsSince1970:
            return Date(timeIntervalSince1970: try decodeDouble(at: index, path: path) / 1000)
        case .iso8601:
            guard index >= 0, tokens[index].kind == .string else { throw mismatch(String.self, at: index, path: path) }
            guard let date = withStringBytes(index, UTCTime.date(parsingISO8601:)) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path?.path ?? codingPath(of: index),
                                                        debugDescription: "Expected date string to be ISO8601-formatted, found \"\(string(index))\" (byte offset \(tokens[index].start))."))
            }
            return date
        case .custom(let read):
            return try read(JSONValueDecoder(state: self, index: index, path: path))
        }
    }

    private func decodeData(at index: Int, path: CodingPathBox?) throws -> Data {
        switch dataStrategy {
        case .base64:
            let text = try decodeString(at: index, path: path)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: path?.path ?? codingPath(of: index),
                                                        debugDescription: "Encountered Data is not valid Base64 (byte offset \(tokens[index].start))."))
            }
            return data
        case .deferredToData:
            return try Data(from: JSONValueDecoder(state: self, index: index, path: path))
        case .custom(let read):
            return try read(JSONValueDecoder(state: self, index: index, path: path))
        }
    }

    private func decodeDecimal(at index: Int, path: CodingPathBox?) throws -> Decimal {
        guard index >= 0, tokens[index].kind == .number else { throw mismatch(Decimal.self, at: index, path: path) }
        guard let value = Decimal(string: numberText(index), locale: Locale(identifier: "en_US_POSIX")) else {
            throw numberOutOfRange(Decimal.self, at: index, path: path)
        }
        return value
    }

    // MARK: - Errors

    func describeKind(_ index: Int) -> String {
        switch kind(index) {
        case .object: return "a dictionary"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .true, .false: return "bool"
        case .null: return "null"
        }
    }

    func offsetText(_ index: Int) -> String {
        index >= 0 ? " (byte offset \(tokens[index].start))" : ""
    }

    /// The error for a value of the wrong kind: `valueNotFound` for null, `typeMismatch` otherwise.
    func mismatch(_ type: Any.Type, at index: Int, path: CodingPathBox?) -> DecodingError {
        let codingPath = path?.path ?? codingPath(of: index)
        if isNull(index) {
            return .valueNotFound(type, .init(codingPath: codingPath,
                                              debugDescription: "Cannot get value of type \(type) -- found null value instead\(offsetText(index))."))
        }
        return .typeMismatch(type, .init(codingPath: codingPath,
                                         debugDescription: "Expected to decode \(type) but found \(describeKind(index)) instead\(offsetText(index))."))
    }

    func numberOutOfRange(_ type: Any.Type, at index: Int, path: CodingPathBox?) -> DecodingError {
        .dataCorrupted(.init(codingPath: path?.path ?? codingPath(of: index),
                             debugDescription: "Parsed JSON number <\(numberText(index))> does not fit in \(type)\(offsetText(index))."))
    }
}

/// A coding path given explicitly, for decoders of values that are not on the tape (the null
/// behind `superDecoder(forKey:)` of a missing key).
final class CodingPathBox {
    let path: [any CodingKey]
    init(_ path: [any CodingKey]) { self.path = path }
}

/// `[String: Value]` dictionaries, which this decoder reads directly: keys as written (never
/// converted from snake case, as in Foundation), values by their own rules.
protocol StringKeyedDictionaryDecodable {
    static func decodeStrataJSON<T>(_ state: JSONDecodingState, object: Int, as type: T.Type) throws -> T
}

extension Dictionary: StringKeyedDictionaryDecodable where Key == String, Value: Decodable {
    static func decodeStrataJSON<T>(_ state: JSONDecodingState, object: Int, as type: T.Type) throws -> T {
        state.markDictionary(object)
        var result: [String: Value] = [:]
        result.reserveCapacity(Int(state.tokens[object].length))
        for (key, value) in state.keys(of: object, converted: false) where result[key] == nil {
            result[key] = try state.decodeValue(Value.self, at: value)
        }
        return reinterpret(result, as: T.self)
    }
}

/// Arrays, which this decoder reads directly (one pass over the tape, the result's storage
/// allocated once).
protocol ArrayDecodable {
    static func decodeStrataJSON<T>(_ state: JSONDecodingState, array: Int, as type: T.Type) throws -> T
}

extension Array: ArrayDecodable where Element: Decodable {
    static func decodeStrataJSON<T>(_ state: JSONDecodingState, array: Int, as type: T.Type) throws -> T {
        let count = Int(state.tokens[array].length)
        var result: [Element] = []
        result.reserveCapacity(count)
        var element = array + 1
        for _ in 0..<count {
            result.append(try state.decodeValue(Element.self, at: element))
            element = Int(state.tokens[element].next)
        }
        return reinterpret(result, as: T.self)
    }
}
