/// The unkeyed container over one array on the tape. A decode that throws does not move past
/// the element, so the caller can try another type (as with Foundation).
struct JSONUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    /// Not retained: the coder keeps its state alive for the whole call, and coders and
    /// containers are valid only during it (see StrataJSONDecoder and StrataJSONEncoder).
    unowned(unsafe) let state: JSONDecodingState
    let array: UInt32
    /// The tape index of the next element.
    var cursor: UInt32
    var position: UInt32 = 0
    let length: UInt32

    init(state: JSONDecodingState, array: Int) {
        self.state = state
        self.array = UInt32(truncatingIfNeeded: array)
        self.cursor = UInt32(truncatingIfNeeded: array + 1)
        self.length = state.tokens[array].length
    }

    var codingPath: [any CodingKey] { state.codingPath(of: Int(array)) }
    var count: Int? { Int(length) }
    var isAtEnd: Bool { position >= length }
    var currentIndex: Int { Int(position) }

    @inline(__always)
    private func element(_ type: Any.Type) throws -> Int {
        guard position < length else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [StrataJSONKey(index: currentIndex)],
                                                          debugDescription: "Unkeyed container is at end."))
        }
        return Int(cursor)
    }

    @inline(__always)
    private mutating func advance() {
        cursor = state.tokens[Int(cursor)].next
        position += 1
    }

    mutating func decodeNil() throws -> Bool {
        let index = try element(Any?.self)
        guard state.isNull(index) else { return false }
        advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let value = try state.decodeBool(at: try element(Bool.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let value = try state.decodeString(at: try element(String.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let value = try state.decodeDouble(at: try element(Double.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let value = try state.decodeFloat(at: try element(Float.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Int.Type) throws -> Int {
        let value = try state.decodeInteger(Int.self, at: try element(Int.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 {
        let value = try state.decodeInteger(Int8.self, at: try element(Int8.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Int16.Type) throws -> Int16 {
        let value = try state.decodeInteger(Int16.self, at: try element(Int16.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Int32.Type) throws -> Int32 {
        let value = try state.decodeInteger(Int32.self, at: try element(Int32.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: Int64.Type) throws -> Int64 {
        let value = try state.decodeInteger(Int64.self, at: try element(Int64.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: UInt.Type) throws -> UInt {
        let value = try state.decodeInteger(UInt.self, at: try element(UInt.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        let value = try state.decodeInteger(UInt8.self, at: try element(UInt8.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        let value = try state.decodeInteger(UInt16.self, at: try element(UInt16.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        let value = try state.decodeInteger(UInt32.self, at: try element(UInt32.self), path: nil)
        advance()
        return value
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        let value = try state.decodeInteger(UInt64.self, at: try element(UInt64.self), path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Bool.Type) throws -> Bool? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeBool(at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: String.Type) throws -> String? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeString(at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Double.Type) throws -> Double? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeDouble(at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Float.Type) throws -> Float? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeFloat(at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Int.Type) throws -> Int? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(Int.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Int8.Type) throws -> Int8? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(Int8.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Int16.Type) throws -> Int16? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(Int16.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Int32.Type) throws -> Int32? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(Int32.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: Int64.Type) throws -> Int64? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(Int64.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: UInt.Type) throws -> UInt? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(UInt.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: UInt8.Type) throws -> UInt8? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(UInt8.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: UInt16.Type) throws -> UInt16? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(UInt16.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: UInt32.Type) throws -> UInt32? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(UInt32.self, at: index, path: nil)
        advance()
        return value
    }
    mutating func decodeIfPresent(_ type: UInt64.Type) throws -> UInt64? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeInteger(UInt64.self, at: index, path: nil)
        advance()
        return value
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try state.decodeValue(T.self, at: try element(T.self))
        advance()
        return value
    }

    mutating func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        guard position < length else { return nil }
        let index = Int(cursor)
        if state.isNull(index) { advance(); return nil }
        let value = try state.decodeValue(T.self, at: index)
        advance()
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let container: KeyedDecodingContainer<NestedKey> = try state.keyedContainer(at: try element(KeyedDecodingContainer<NestedKey>.self), path: nil)
        advance()
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try state.unkeyedContainer(at: try element((any UnkeyedDecodingContainer).self), path: nil)
        advance()
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = JSONValueDecoder(state: state, index: try element((any Decoder).self), path: nil)
        advance()
        return decoder
    }
}
