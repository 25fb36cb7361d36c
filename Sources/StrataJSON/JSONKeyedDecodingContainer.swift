/// The keyed container over one object on the tape. Lookups compare UTF-8 bytes; nothing is
/// converted until a value is decoded.
struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: JSONDecodingState
    let object: Int

    var codingPath: [any CodingKey] { state.codingPath(of: object) }

    var allKeys: [Key] {
        state.keys(of: object, converted: state.convertsSnakeCase).compactMap { Key(stringValue: $0.key) }
    }

    func contains(_ key: Key) -> Bool { state.member(key.stringValue, in: object) != nil }

    @inline(__always)
    private func value(_ key: Key) throws -> Int {
        guard let index = state.member(key.stringValue, in: object) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return index
    }

    @inline(__always)
    private func presentValue(_ key: Key) -> Int? {
        guard let index = state.member(key.stringValue, in: object), !state.isNull(index) else { return nil }
        return index
    }

    func decodeNil(forKey key: Key) throws -> Bool { state.isNull(try value(key)) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try state.decodeBool(at: try value(key), path: nil) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try state.decodeString(at: try value(key), path: nil) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try state.decodeDouble(at: try value(key), path: nil) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try state.decodeFloat(at: try value(key), path: nil) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try state.decodeInteger(Int.self, at: try value(key), path: nil) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try state.decodeInteger(Int8.self, at: try value(key), path: nil) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try state.decodeInteger(Int16.self, at: try value(key), path: nil) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try state.decodeInteger(Int32.self, at: try value(key), path: nil) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try state.decodeInteger(Int64.self, at: try value(key), path: nil) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try state.decodeInteger(UInt.self, at: try value(key), path: nil) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try state.decodeInteger(UInt8.self, at: try value(key), path: nil) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try state.decodeInteger(UInt16.self, at: try value(key), path: nil) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try state.decodeInteger(UInt32.self, at: try value(key), path: nil) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try state.decodeInteger(UInt64.self, at: try value(key), path: nil) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeBool(at: index, path: nil)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeString(at: index, path: nil)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeDouble(at: index, path: nil)
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeFloat(at: index, path: nil)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(Int.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(Int8.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(Int16.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(Int32.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(Int64.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(UInt.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(UInt8.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(UInt16.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(UInt32.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeInteger(UInt64.self, at: index, path: nil)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try state.decodeValue(T.self, at: try value(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeValue(T.self, at: index)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try state.keyedContainer(at: try value(key), path: nil)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try state.unkeyedContainer(at: try value(key), path: nil)
    }

    func superDecoder() throws -> any Decoder { decoder(named: StrataJSONKey.super) }

    func superDecoder(forKey key: Key) throws -> any Decoder { decoder(named: key) }

    /// The decoder of a member's value; for a missing member, one over `null` (as Foundation).
    private func decoder(named key: some CodingKey) -> any Decoder {
        if let index = state.member(key.stringValue, in: object) {
            return JSONValueDecoder(state: state, index: index, path: nil)
        }
        return JSONValueDecoder(state: state, index: -1, path: CodingPathBox(codingPath + [key]))
    }
}
