/// The unkeyed container of one array being written.
struct JSONUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    /// Not retained: the encoder keeps its state alive for the whole call, and encoders and
    /// containers are valid only during it (see StrataJSONEncoder). Used through
    /// `_withUnsafeGuaranteedRef`, which costs no reference counting.
    let unmanaged: Unmanaged<JSONEncodingState>
    let depth: Int
    let id: UInt32

    init(state: JSONEncodingState, depth: Int, id: UInt32) {
        self.unmanaged = Unmanaged.passUnretained(state)
        self.depth = depth
        self.id = id
    }

    /// The state, for calls off the hot path.
    var state: JSONEncodingState { unmanaged.takeUnretainedValue() }

    var codingPath: [any CodingKey] { state.codingPath(depth, id) }
    var count: Int { state.elementCount(depth, id) }

    mutating func encodeNil() throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.append("null")
        }
    }

    mutating func encode(_ value: Bool) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.append(value ? "true" : "false")
        }
    }

    mutating func encode(_ value: String) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendString(value)
        }
    }

    mutating func encode(_ value: Double) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath + [StrataJSONKey(index: count)])
            try s.beginElement(depth, id)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Float) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath + [StrataJSONKey(index: count)])
            try s.beginElement(depth, id)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Int) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int8) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int16) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int32) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int64) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt8) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt16) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt32) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt64) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginElement(depth, id)
            s.out.appendInteger(value)
        }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.beginElement(depth, id)
        try state.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        guard (try? state.beginElement(depth, id)) != nil else {
            return state.containers.container(NestedKey.self, depth: 0, id: 0, state: state)
        }
        let (nestedDepth, nestedID) = state.pushObject()
        return state.containers.container(NestedKey.self, depth: nestedDepth, id: nestedID, state: state)
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
