/// The encoder of one value's place; it is also that place's single-value container.
struct JSONValueEncoder: Encoder, SingleValueEncodingContainer {
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
    var userInfo: [CodingUserInfoKey: Any] { state.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if !state.openObject(depth, id) {
            state.deferredError = .invalidValue(type, .init(codingPath: codingPath, debugDescription: "Asked for a keyed container where a value of another kind was already encoded."))
        }
        return state.containers.container(Key.self, depth: depth, id: id, state: state)
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if !state.openArray(depth, id) {
            state.deferredError = .invalidValue([Any].self, .init(codingPath: codingPath, debugDescription: "Asked for an unkeyed container where a value of another kind was already encoded."))
        }
        return JSONUnkeyedEncodingContainer(state: state, depth: depth, id: id)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    mutating func encodeNil() throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: Optional<Any>.none as Any)
            s.out.append("null")
        }
    }

    mutating func encode(_ value: Bool) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.append(value ? "true" : "false")
        }
    }

    mutating func encode(_ value: String) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendString(value)
        }
    }

    mutating func encode(_ value: Double) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath)
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Float) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.checkFinite(value, path: codingPath)
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendFloatingPoint(value.description)
        }
    }

    mutating func encode(_ value: Int) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int8) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int16) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int32) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: Int64) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt8) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt16) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt32) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode(_ value: UInt64) throws {
        try unmanaged._withUnsafeGuaranteedRef { s in
            try s.beginSingleValue(depth, id, codingPath: codingPath, value: value)
            s.out.appendInteger(value)
        }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.beginSingleValue(depth, id, codingPath: codingPath, value: value)
        try state.encodeValue(value)
    }
}
