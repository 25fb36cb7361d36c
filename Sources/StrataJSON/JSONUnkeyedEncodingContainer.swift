/// The unkeyed container of one array being written.
struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    /// Not retained: the coder keeps its state alive for the whole call, and coders and
    /// containers are valid only during it (see StrataJSONDecoder and StrataJSONEncoder).
    unowned(unsafe) let state: JSONEncodingState
    let depth: Int
    let id: UInt32

    var codingPath: [any CodingKey] { state.codingPath(depth, id) }
    var count: Int { state.elementCount(depth, id) }

    mutating func encodeNil() throws {
        try state.beginElement(depth, id)
        state.out.append("null")
    }

    mutating func encode(_ value: Bool) throws {
        try state.beginElement(depth, id)
        state.out.append(value ? "true" : "false")
    }
    mutating func encode(_ value: String) throws {
        try state.beginElement(depth, id)
        state.out.appendString(value)
    }
    mutating func encode(_ value: Double) throws {
        try state.checkFinite(value, path: codingPath + [StrataJSONKey(index: count)])
        try state.beginElement(depth, id)
        state.out.appendFloatingPoint(value.description)
    }
    mutating func encode(_ value: Float) throws {
        try state.checkFinite(value, path: codingPath + [StrataJSONKey(index: count)])
        try state.beginElement(depth, id)
        state.out.appendFloatingPoint(value.description)
    }
    mutating func encode(_ value: Int) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: Int8) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: Int16) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: Int32) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: Int64) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: UInt) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: UInt8) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: UInt16) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: UInt32) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }
    mutating func encode(_ value: UInt64) throws {
        try state.beginElement(depth, id)
        state.out.appendInteger(value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.beginElement(depth, id)
        try state.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        guard (try? state.beginElement(depth, id)) != nil else {
            return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(state: state, depth: 0, id: 0))
        }
        let (nestedDepth, nestedID) = state.pushObject()
        return KeyedEncodingContainer(JSONKeyedEncodingContainer<NestedKey>(state: state, depth: nestedDepth, id: nestedID))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        guard (try? state.beginElement(depth, id)) != nil else {
            return JSONUnkeyedEncodingContainer(state: state, depth: 0, id: 0)
        }
        let (nestedDepth, nestedID) = state.pushArray()
        return JSONUnkeyedEncodingContainer(state: state, depth: nestedDepth, id: nestedID)
    }

    mutating func superEncoder() -> any Encoder {
        guard (try? state.beginElement(depth, id)) != nil else {
            return JSONValueEncoder(state: state, depth: 0, id: 0)
        }
        let (slotDepth, slotID) = state.pushSlot()
        return JSONValueEncoder(state: state, depth: slotDepth, id: slotID)
    }
}
