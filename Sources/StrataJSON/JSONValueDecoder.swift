/// The decoder of one value on the tape; it is also that value's single-value container, so
/// asking for one allocates nothing.
struct JSONValueDecoder: Decoder, SingleValueDecodingContainer {
    /// Not retained: the coder keeps its state alive for the whole call, and coders and
    /// containers are valid only during it (see StrataJSONDecoder and StrataJSONEncoder).
    unowned(unsafe) let state: JSONDecodingState
    /// The value's tape index; -1 for the `null` of a missing `superDecoder(forKey:)` member.
    let index: Int
    /// The coding path, when it cannot be rebuilt from the tape.
    let path: CodingPathBox?

    var codingPath: [any CodingKey] { path?.path ?? state.codingPath(of: index) }
    var userInfo: [CodingUserInfoKey: Any] { state.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try state.keyedContainer(at: index, path: path)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try state.unkeyedContainer(at: index, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { state.isNull(index) }

    func decode(_ type: Bool.Type) throws -> Bool { try state.decodeBool(at: index, path: path) }
    func decode(_ type: String.Type) throws -> String { try state.decodeString(at: index, path: path) }
    func decode(_ type: Double.Type) throws -> Double { try state.decodeDouble(at: index, path: path) }
    func decode(_ type: Float.Type) throws -> Float { try state.decodeFloat(at: index, path: path) }
    func decode(_ type: Int.Type) throws -> Int { try state.decodeInteger(Int.self, at: index, path: path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try state.decodeInteger(Int8.self, at: index, path: path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try state.decodeInteger(Int16.self, at: index, path: path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try state.decodeInteger(Int32.self, at: index, path: path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try state.decodeInteger(Int64.self, at: index, path: path) }
    func decode(_ type: UInt.Type) throws -> UInt { try state.decodeInteger(UInt.self, at: index, path: path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try state.decodeInteger(UInt8.self, at: index, path: path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try state.decodeInteger(UInt16.self, at: index, path: path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try state.decodeInteger(UInt32.self, at: index, path: path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try state.decodeInteger(UInt64.self, at: index, path: path) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try state.decodeValue(T.self, at: index, path: path)
    }
}

extension JSONDecodingState {
    /// The keyed container of the object at `index`.
    func keyedContainer<Key: CodingKey>(at index: Int, path: CodingPathBox?) throws -> KeyedDecodingContainer<Key> {
        guard index >= 0, tokens[index].kind == .object else {
            if isNull(index) {
                throw DecodingError.valueNotFound(KeyedDecodingContainer<Key>.self, .init(
                    codingPath: path?.path ?? codingPath(of: index),
                    debugDescription: "Cannot get keyed decoding container -- found null value instead\(offsetText(index))."))
            }
            throw DecodingError.typeMismatch([String: Any].self, .init(
                codingPath: path?.path ?? codingPath(of: index),
                debugDescription: "Expected to decode Dictionary<String, Any> but found \(describeKind(index)) instead\(offsetText(index))."))
        }
        return containers.container(Key.self, object: index, view: view, state: self)
    }

    /// The unkeyed container of the array at `index`.
    func unkeyedContainer(at index: Int, path: CodingPathBox?) throws -> any UnkeyedDecodingContainer {
        guard index >= 0, tokens[index].kind == .array else {
            if isNull(index) {
                throw DecodingError.valueNotFound((any UnkeyedDecodingContainer).self, .init(
                    codingPath: path?.path ?? codingPath(of: index),
                    debugDescription: "Cannot get unkeyed decoding container -- found null value instead\(offsetText(index))."))
            }
            throw DecodingError.typeMismatch([Any].self, .init(
                codingPath: path?.path ?? codingPath(of: index),
                debugDescription: "Expected to decode Array<Any> but found \(describeKind(index)) instead\(offsetText(index))."))
        }
        return JSONUnkeyedDecodingContainer(state: self, array: index)
    }
}
