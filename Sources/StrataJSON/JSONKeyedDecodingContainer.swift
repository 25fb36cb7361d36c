/// The keyed container over one object on the tape. Lookups compare UTF-8 bytes; nothing is
/// converted until a value is decoded.
struct JSONKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    /// Not retained: the coder keeps its state alive for the whole call, and coders and
    /// containers are valid only during it (see StrataJSONDecoder and StrataJSONEncoder).
    unowned(unsafe) let state: JSONDecodingState
    /// Which object this container stands for now (see ``KeyedContainerPool``); not retained,
    /// the pool keeps it.
    unowned(unsafe) let slot: KeyedContainerPool.Slot

    init(state: JSONDecodingState, slot: KeyedContainerPool.Slot) {
        self.state = state
        self.slot = slot
    }

    @inline(__always)
    var object: Int { slot.object }

    @inline(__always)
    var view: JSONView { slot.view }

    var codingPath: [any CodingKey] { state.codingPath(of: object) }

    var allKeys: [Key] {
        state.keys(of: object, converted: state.convertsSnakeCase).compactMap { Key(stringValue: $0.key) }
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    /// The tape index of the member's value, or nil.
    @inline(__always)
    private func find(_ key: Key) -> Int? {
        var text = key.stringValue
        let found = text.withUTF8 { view.member(UnsafeRawBufferPointer($0), in: object) }
        return found == JSONView.askState ? slowFind(text) : found
    }

    /// Escaped or converted keys: the state compares unescaped, converted text.
    @inline(never)
    private func slowFind(_ text: String) -> Int? { state.member(text, in: object) }

    @inline(__always)
    private func value(_ key: Key) throws -> Int {
        guard let index = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return index
    }

    @inline(__always)
    private func presentValue(_ key: Key) -> Int? {
        guard let index = find(key), !view.isNull(index) else { return nil }
        return index
    }

    func decodeNil(forKey key: Key) throws -> Bool { state.isNull(try value(key)) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let index = try value(key)
        if let result = view.bool(index) { return result }
        return try state.decodeBool(at: index, path: nil)
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let index = try value(key)
        if let result = view.plainString(index) { return result }
        return try state.decodeString(at: index, path: nil)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        let index = try value(key)
        if let result = view.double(index) { return result }
        return try state.decodeDouble(at: index, path: nil)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try state.decodeFloat(at: try value(key), path: nil) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        let index = try value(key)
        if let result = view.int(index) { return result }
        return try state.decodeInteger(Int.self, at: index, path: nil)
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        let index = try value(key)
        if let result: Int8 = view.integer(index) { return result }
        return try state.decodeInteger(Int8.self, at: index, path: nil)
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        let index = try value(key)
        if let result: Int16 = view.integer(index) { return result }
        return try state.decodeInteger(Int16.self, at: index, path: nil)
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        let index = try value(key)
        if let result: Int32 = view.integer(index) { return result }
        return try state.decodeInteger(Int32.self, at: index, path: nil)
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        let index = try value(key)
        if let result: Int64 = view.integer(index) { return result }
        return try state.decodeInteger(Int64.self, at: index, path: nil)
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        let index = try value(key)
        if let result: UInt = view.integer(index) { return result }
        return try state.decodeInteger(UInt.self, at: index, path: nil)
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        let index = try value(key)
        if let result: UInt8 = view.integer(index) { return result }
        return try state.decodeInteger(UInt8.self, at: index, path: nil)
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        let index = try value(key)
        if let result: UInt16 = view.integer(index) { return result }
        return try state.decodeInteger(UInt16.self, at: index, path: nil)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        let index = try value(key)
        if let result: UInt32 = view.integer(index) { return result }
        return try state.decodeInteger(UInt32.self, at: index, path: nil)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        let index = try value(key)
        if let result: UInt64 = view.integer(index) { return result }
        return try state.decodeInteger(UInt64.self, at: index, path: nil)
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let index = presentValue(key) else { return nil }
        return try state.decodeBool(at: index, path: nil)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let index = presentValue(key) else { return nil }
        if let result = view.plainString(index) { return result }
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
        var text = key.stringValue
        let found = text.withUTF8 { view.member(UnsafeRawBufferPointer($0), in: object) }
        if let index = found == JSONView.askState ? slowFind(text) : found {
            return JSONValueDecoder(state: state, index: index, path: nil)
        }
        return JSONValueDecoder(state: state, index: -1, path: CodingPathBox(codingPath + [key]))
    }
}
