/// The keyed container of one object being written. Members are written as they come.
struct JSONKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    /// Not retained: the encoder keeps its state alive for the whole call, and encoders and
    /// containers are valid only during it (see StrataJSONEncoder). Used through
    /// `_withUnsafeGuaranteedRef`, which costs no reference counting.
    let unmanaged: Unmanaged<JSONEncodingState>
    /// Where this container writes now (see ``KeyedEncodingContainerPool``); not retained, the
    /// pool keeps it.
    unowned(unsafe) let slot: KeyedEncodingContainerPool.Slot

    init(state: JSONEncodingState, slot: KeyedEncodingContainerPool.Slot) {
        self.unmanaged = Unmanaged.passUnretained(state)
        self.slot = slot
    }

    @inline(__always)
    var depth: Int { slot.depth }

    @inline(__always)
    var id: UInt32 { slot.id }

    /// The state, for calls off the hot path.
    var state: JSONEncodingState { unmanaged.takeUnretainedValue() }

    var codingPath: [any CodingKey] { state.codingPath(depth, id) }

    mutating func encodeNil(forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.append("null")
        }
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.append(value ? "true" : "false")
        }
    }

    mutating func encode(_ value: String, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendString(value)
        }
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath + [key])
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Float, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath + [key])
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Int, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int8, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int16, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int32, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int64, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginMember(depth, id, key: key.stringValue)
            s.out.appendInteger(value)
        }
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try state.beginMember(depth, id, key: key.stringValue)
        try state.encodeValue(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        guard (try? state.beginMember(depth, id, key: key.stringValue)) != nil else {
            return state.containers.container(NestedKey.self, depth: 0, id: 0, state: state)
        }
        let (nestedDepth, nestedID) = state.pushObject()
        return state.containers.container(NestedKey.self, depth: nestedDepth, id: nestedID, state: state)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        guard (try? state.beginMember(depth, id, key: key.stringValue)) != nil else {
            return JSONUnkeyedEncodingContainer(state: state, depth: 0, id: 0)
        }
        let (nestedDepth, nestedID) = state.pushArray()
        return JSONUnkeyedEncodingContainer(state: state, depth: nestedDepth, id: nestedID)
    }

    mutating func superEncoder() -> any Encoder { encoder(forKey: StrataJSONKey.super.stringValue) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder(forKey: key.stringValue) }

    private func encoder(forKey key: String) -> any Encoder {
        guard (try? state.beginMember(depth, id, key: key)) != nil else {
            return JSONValueEncoder(state: state, depth: 0, id: 0)
        }
        let (slotDepth, slotID) = state.pushSlot()
        return JSONValueEncoder(state: state, depth: slotDepth, id: slotID)
    }
}
