import Foundation

/// One open place in the output: a value not yet written (a slot), an object or an array.
struct EncodingFrame {
    enum Kind: UInt8 {
        /// A value's place, nothing written yet.
        case slot
        /// A value's place, filled by a single-value container.
        case filled
        case object
        case array
    }

    var id: UInt32
    var kind: Kind
    /// Members or elements written so far.
    var count: UInt32 = 0
    /// Where this value's key starts in the output (its parent is an object), else `UInt32.max`.
    var keyOffset: UInt32 = .max
    /// This value's position in its parent array, else `UInt32.max`.
    var element: UInt32 = .max
    /// Objects, with sorted keys: where this object's member offsets start in `memberStarts`.
    var sortBase: UInt32 = 0
}

/// Why an encode stopped early.
enum EncodingInterruption: Error {
    /// A container was written to after a container opened later than it: the output can no
    /// longer be streamed, so the value is encoded again through Foundation.
    case outOfOrder
}

/// The encoder's working state: the output, the stack of open places, the options.
///
/// Output is streamed: a keyed or unkeyed container writes its members as they come, and a
/// container is closed when its parent (or an older container) writes again. Writing to a
/// container after that is reported as ``EncodingInterruption/outOfOrder``.
final class JSONEncodingState {
    let out = JSONOutput()
    // The hot properties skip run-time exclusivity checks: the state belongs to one encode at a
    // time, and no access to them is held across a call that could reach them again.
    @exclusivity(unchecked) private var frames: UnsafeMutablePointer<EncodingFrame>
    @exclusivity(unchecked) private var frameCapacity = 32
    @exclusivity(unchecked) private(set) var frameCount = 0
    @exclusivity(unchecked) private var nextID: UInt32 = 0
    /// Offset of the key written last (for coding paths).
    @exclusivity(unchecked) private var lastKeyOffset: UInt32 = .max
    /// Set once the output cannot be streamed; every later write throws.
    @exclusivity(unchecked) private(set) var interrupted = false
    /// A misuse found where the protocol gives no way to throw (asking a filled value for a
    /// container); thrown when the encode ends.
    var deferredError: EncodingError?

    @exclusivity(unchecked) var sortsKeys = false
    @exclusivity(unchecked) var convertsSnakeCase = false
    var dateStrategy: StrataJSONEncoder.DateEncodingStrategy = .deferredToDate
    var dataStrategy: StrataJSONEncoder.DataEncodingStrategy = .base64
    var userInfo: [CodingUserInfoKey: Any] = [:]

    /// With sorted keys: the offset of every member of the open objects.
    private var memberStarts: [UInt32] = []
    private var sortScratch: [UInt8] = []
    private var snakeCaseKeys: [String: String] = [:]
    private let types = CodableTypeCache()
    /// Keyed containers, reused once the `encode(to:)` that asked for one returns.
    let containers = KeyedEncodingContainerPool()
    var busy = false

    init() {
        frames = .allocate(capacity: frameCapacity)
    }

    deinit { frames.deallocate() }

    /// Prepares for a new value.
    func reset() {
        out.count = 0
        frameCount = 0
        nextID = 0
        interrupted = false
        deferredError = nil
        memberStarts.removeAll(keepingCapacity: true)
    }

    // MARK: - Frames

    /// Opens a place for one value; returns its depth and id.
    @inline(__always)
    func pushSlot() -> (depth: Int, id: UInt32) {
        if frameCount == frameCapacity { growFrames() }
        nextID &+= 1
        var frame = EncodingFrame(id: nextID, kind: .slot)
        if frameCount > 0 {
            switch frames[frameCount - 1].kind {
            case .object: frame.keyOffset = lastKeyOffset
            case .array: frame.element = frames[frameCount - 1].count &- 1
            default: break
            }
        }
        frames[frameCount] = frame
        frameCount += 1
        return (frameCount - 1, nextID)
    }

    private func growFrames() {
        let bigger = UnsafeMutablePointer<EncodingFrame>.allocate(capacity: frameCapacity * 2)
        bigger.moveInitialize(from: frames, count: frameCount)
        frames.deallocate()
        frames = bigger
        frameCapacity *= 2
    }

    /// Whether the frame at `depth` is still the one with `id` (not closed and replaced).
    @inline(__always)
    func isLive(_ depth: Int, _ id: UInt32) -> Bool {
        depth < frameCount && frames[depth].id == id
    }

    @inline(__always)
    func frameKind(_ depth: Int) -> EncodingFrame.Kind { frames[depth].kind }

    func elementCount(_ depth: Int, _ id: UInt32) -> Int {
        isLive(depth, id) ? Int(frames[depth].count) : 0
    }

    /// Makes the frame at `depth` the innermost open one, closing those above it; throws when it
    /// has been closed already.
    @inline(__always)
    func activate(_ depth: Int, _ id: UInt32) throws {
        guard !interrupted, isLive(depth, id) else { throw interrupt() }
        if frameCount > depth + 1 { close(downTo: depth + 1) }
    }

    func interrupt() -> EncodingInterruption {
        interrupted = true
        return .outOfOrder
    }

    /// Closes every frame at `depth` and above: objects and arrays get their closing bracket,
    /// places never written become `{}` (as in Foundation).
    func close(downTo depth: Int) {
        while frameCount > depth {
            let frame = frames[frameCount - 1]
            frameCount -= 1
            switch frame.kind {
            case .slot: out.append("{}")
            case .filled: break
            case .object:
                if sortsKeys {
                    let base = Int(frame.sortBase)
                    if frame.count > 1 { sortMembers(from: base) }
                    memberStarts.removeSubrange(base...)
                }
                out.appendByte(UInt8(ascii: "}"))
            case .array: out.appendByte(UInt8(ascii: "]"))
            }
        }
    }

    /// Turns the value place at `depth` into an object (or continues the object already there).
    /// Returns false when the place already holds something else.
    func openObject(_ depth: Int, _ id: UInt32) -> Bool {
        guard !interrupted, isLive(depth, id) else {
            interrupted = true
            return true
        }
        if frameCount > depth + 1 { close(downTo: depth + 1) }
        switch frames[depth].kind {
        case .slot:
            out.appendByte(UInt8(ascii: "{"))
            frames[depth].kind = .object
            frames[depth].count = 0
            frames[depth].sortBase = UInt32(memberStarts.count)
            return true
        case .object:
            return true
        default:
            return false
        }
    }

    /// Turns the value place at `depth` into an array (or continues the array already there).
    func openArray(_ depth: Int, _ id: UInt32) -> Bool {
        guard !interrupted, isLive(depth, id) else {
            interrupted = true
            return true
        }
        if frameCount > depth + 1 { close(downTo: depth + 1) }
        switch frames[depth].kind {
        case .slot:
            out.appendByte(UInt8(ascii: "["))
            frames[depth].kind = .array
            frames[depth].count = 0
            return true
        case .array:
            return true
        default:
            return false
        }
    }

    /// Starts the single value of the place at `depth`; throws when it holds one already.
    @inline(__always)
    func beginSingleValue(_ depth: Int, _ id: UInt32, codingPath: @autoclosure () -> [any CodingKey], value: @autoclosure () -> Any) throws {
        try activate(depth, id)
        guard frames[depth].kind == .slot else {
            throw EncodingError.invalidValue(value(), .init(codingPath: codingPath(), debugDescription: "A value was already encoded through this single value container."))
        }
        frames[depth].kind = .filled
    }

    /// Starts a member of the object at `depth`: the separator and the key.
    @inline(__always)
    func beginMember(_ depth: Int, _ id: UInt32, key: String) throws {
        try activate(depth, id)
        if frames[depth].count > 0 { out.appendByte(UInt8(ascii: ",")) }
        frames[depth].count += 1
        let start = UInt32(truncatingIfNeeded: out.count)
        if sortsKeys { memberStarts.append(start) }
        lastKeyOffset = start
        if convertsSnakeCase {
            out.appendString(snakeCase(key))
        } else {
            out.appendString(key)
        }
        out.appendByte(UInt8(ascii: ":"))
    }

    /// Starts a member whose key is written as it is (dictionary keys).
    func beginRawMember(_ depth: Int, key: String) {
        if frames[depth].count > 0 { out.appendByte(UInt8(ascii: ",")) }
        frames[depth].count += 1
        let start = UInt32(truncatingIfNeeded: out.count)
        if sortsKeys { memberStarts.append(start) }
        lastKeyOffset = start
        out.appendString(key)
        out.appendByte(UInt8(ascii: ":"))
    }

    /// Starts an element of the array at `depth`.
    @inline(__always)
    func beginElement(_ depth: Int, _ id: UInt32) throws {
        try activate(depth, id)
        if frames[depth].count > 0 { out.appendByte(UInt8(ascii: ",")) }
        frames[depth].count += 1
    }

    /// Pushes an object frame for a nested container (after its key or separator is written).
    func pushObject() -> (depth: Int, id: UInt32) {
        let (depth, id) = pushSlot()
        _ = openObject(depth, id)
        return (depth, id)
    }

    func pushArray() -> (depth: Int, id: UInt32) {
        let (depth, id) = pushSlot()
        _ = openArray(depth, id)
        return (depth, id)
    }

    private func snakeCase(_ key: String) -> String {
        if let known = snakeCaseKeys[key] { return known }
        let converted = SnakeCase.toSnakeCase(key)
        if snakeCaseKeys.count >= 4096 { snakeCaseKeys.removeAll(keepingCapacity: true) }
        snakeCaseKeys[key] = converted
        return converted
    }

    // MARK: - Coding paths

    /// The coding path of the frame at `depth`, read back from the keys in the output.
    func codingPath(_ depth: Int, _ id: UInt32) -> [any CodingKey] {
        guard isLive(depth, id) else { return [] }
        var path: [any CodingKey] = []
        for level in stride(from: 1, through: depth, by: 1) {
            let frame = frames[level]
            if frame.keyOffset != .max {
                path.append(StrataJSONKey(stringValue: keyText(at: Int(frame.keyOffset))))
            } else if frame.element != .max {
                path.append(StrataJSONKey(index: Int(frame.element)))
            }
        }
        return path
    }

    /// The unescaped text of the key whose opening quote is at `offset` in the output.
    private func keyText(at offset: Int) -> String {
        let end = closingQuote(after: offset)
        let literal = UnsafeRawBufferPointer(start: out.base + offset, count: end + 1 - offset)
        return (try? JSONSerialization.jsonObject(with: Data(literal), options: .fragmentsAllowed)) as? String ?? ""
    }

    /// The offset of the quote that closes the string opened at `offset`.
    private func closingQuote(after offset: Int) -> Int {
        var i = offset + 1
        while out.base[i] != UInt8(ascii: "\"") {
            i += out.base[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        return i
    }

    // MARK: - Sorted keys

    /// Reorders the members of the object being closed by key (UTF-8 byte order, which is
    /// Unicode scalar order); of equal keys the last one written stays, as in Foundation.
    private func sortMembers(from base: Int) {
        let starts = memberStarts[base...]
        let n = starts.count
        let end = out.count
        var members: [(start: Int, end: Int, keyStart: Int, keyEnd: Int, key: [UInt8]?, order: Int)] = []
        members.reserveCapacity(n)
        for (k, start) in starts.enumerated() {
            let s = Int(start)
            let e = k + 1 < n ? Int(starts[starts.startIndex + k + 1]) - 1 : end
            let close = closingQuote(after: s)
            var escapedKey: [UInt8]?
            if UnsafeRawBufferPointer(start: out.base + s + 1, count: close - s - 1).contains(UInt8(ascii: "\\")) {
                escapedKey = Array(keyText(at: s).utf8)
            }
            members.append((s, e, s + 1, close, escapedKey, k))
        }
        let bytes = out.base
        func less(_ a: (start: Int, end: Int, keyStart: Int, keyEnd: Int, key: [UInt8]?, order: Int),
                  _ b: (start: Int, end: Int, keyStart: Int, keyEnd: Int, key: [UInt8]?, order: Int)) -> Int {
            let ka = a.key.map { $0[...] } ?? ArraySlice(UnsafeBufferPointer(start: bytes + a.keyStart, count: a.keyEnd - a.keyStart))
            let kb = b.key.map { $0[...] } ?? ArraySlice(UnsafeBufferPointer(start: bytes + b.keyStart, count: b.keyEnd - b.keyStart))
            for (x, y) in zip(ka, kb) where x != y { return x < y ? -1 : 1 }
            return ka.count == kb.count ? 0 : (ka.count < kb.count ? -1 : 1)
        }
        var sorted = true
        for k in 1..<n where less(members[k - 1], members[k]) >= 0 {
            sorted = false
            break
        }
        if sorted { return }
        members.sort { a, b in
            let c = less(a, b)
            return c != 0 ? c < 0 : a.order < b.order
        }
        // Of equal keys the last written stays; decided before the bytes move.
        let keep = (0..<n).map { k in k + 1 == n || less(members[k], members[k + 1]) != 0 }
        let regionStart = Int(starts[starts.startIndex])
        sortScratch.removeAll(keepingCapacity: true)
        sortScratch.append(contentsOf: UnsafeBufferPointer(start: bytes + regionStart, count: end - regionStart))
        var o = regionStart
        var wrote = false
        sortScratch.withUnsafeBufferPointer { copy in
            for k in 0..<n {
                if !keep[k] { continue }
                let m = members[k]
                if wrote {
                    bytes[o] = UInt8(ascii: ",")
                    o += 1
                }
                let length = m.end - m.start
                (bytes + o).update(from: copy.baseAddress! + (m.start - regionStart), count: length)
                o += length
                wrote = true
            }
        }
        out.count = o
    }

    // MARK: - Values

    /// Writes a value of any type at the current position: dates, data, URLs, decimals and
    /// `[String: Value]` by this encoder's rules, everything else through its `encode(to:)`.
    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == String.self {
            out.appendString(reinterpret(value, as: String.self))
            return
        }
        if T.self == Int.self {
            out.appendInteger(reinterpret(value, as: Int.self))
            return
        }
        if T.self == Date.self {
            try encodeDate(reinterpret(value, as: Date.self))
            return
        }
        if T.self == Data.self {
            try encodeData(reinterpret(value, as: Data.self))
            return
        }
        if T.self == URL.self {
            out.appendString(reinterpret(value, as: URL.self).absoluteString)
            return
        }
        if T.self == Decimal.self {
            let decimal = reinterpret(value, as: Decimal.self)
            guard !decimal.isNaN else {
                throw EncodingError.invalidValue(decimal, .init(codingPath: currentPath(), debugDescription: "Unable to encode Decimal.nan directly in JSON."))
            }
            out.appendFloatingPoint(decimal.description)
            return
        }
        if let dictionary = dictionaryType(T.self) {
            try dictionary.encodeStrataJSON(value, into: self)
            return
        }
        let (depth, frameID) = pushSlot()
        let mark = containers.mark
        defer { containers.release(to: mark) }
        try value.encode(to: JSONValueEncoder(state: self, depth: depth, id: frameID))
        guard !interrupted else { throw EncodingInterruption.outOfOrder }
        close(downTo: depth)
    }

    /// `T` as a `[String: Value]` dictionary type, or nil.
    @inline(__always)
    private func dictionaryType<T>(_ type: T.Type) -> (any StringKeyedDictionaryEncodable.Type)? {
        let id = ObjectIdentifier(T.self)
        var category = types.category(of: id)
        if category == nil {
            if let dictionary = T.self as? any StringKeyedDictionaryEncodable.Type {
                category = .encodableDictionary(dictionary)
            } else {
                category = .plain
            }
            types.remember(id, category!)
        }
        if case .encodableDictionary(let dictionary) = category! { return dictionary }
        return nil
    }

    /// Writes the whole output for `value`; throws as Foundation does when it encodes nothing.
    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        if T.self == Date.self || T.self == Data.self || T.self == URL.self || T.self == Decimal.self
            || dictionaryType(T.self) != nil {
            try encodeValue(value)
        } else {
            let (depth, frameID) = pushSlot()
            let mark = containers.mark
            defer { containers.release(to: mark) }
            try value.encode(to: JSONValueEncoder(state: self, depth: depth, id: frameID))
            guard !interrupted else { throw EncodingInterruption.outOfOrder }
            guard frames[depth].kind != .slot else {
                throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
            }
            close(downTo: depth)
        }
        guard !interrupted else { throw EncodingInterruption.outOfOrder }
        if let deferredError { throw deferredError }
    }

    /// Encodes through a fresh place with the given closure (deferred and custom strategies).
    private func encodeThroughEncoder(_ body: (JSONValueEncoder) throws -> Void) throws {
        let (depth, frameID) = pushSlot()
        let mark = containers.mark
        defer { containers.release(to: mark) }
        try body(JSONValueEncoder(state: self, depth: depth, id: frameID))
        guard !interrupted else { throw EncodingInterruption.outOfOrder }
        close(downTo: depth)
    }

    /// The coding path of the innermost open place.
    func currentPath() -> [any CodingKey] {
        frameCount == 0 ? [] : codingPath(frameCount - 1, frames[frameCount - 1].id)
    }

    private func encodeDate(_ date: Date) throws {
        switch dateStrategy {
        case .deferredToDate:
            try encodeThroughEncoder { try date.encode(to: $0) }
        case .secondsSince1970:
            try writeDouble(date.timeIntervalSince1970, path: currentPath())
        case .millisecondsSince1970:
            try writeDouble(date.timeIntervalSince1970 * 1000, path: currentPath())
        case .iso8601:
            UTCTime.appendISO8601(date, milliseconds: false, into: out)
        case .iso8601WithFractionalSeconds:
            UTCTime.appendISO8601(date, milliseconds: true, into: out)
        case .custom(let write):
            try encodeThroughEncoder { try write(date, $0) }
        }
    }

    private func encodeData(_ data: Data) throws {
        switch dataStrategy {
        case .base64:
            out.appendString(data.base64EncodedString())
        case .deferredToData:
            try encodeThroughEncoder { try data.encode(to: $0) }
        case .custom(let write):
            try encodeThroughEncoder { try write(data, $0) }
        }
    }

    /// Writes a finite `Double`; throws for NaN and infinities, as Foundation does by default.
    @inline(__always)
    func writeDouble(_ value: Double, path: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode Double.\(value) directly in JSON."))
        }
        out.appendFloatingPoint(value.description)
    }

    @inline(__always)
    func writeFloat(_ value: Float, path: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode Float.\(value) directly in JSON."))
        }
        out.appendFloatingPoint(value.description)
    }

    /// Checks a floating-point value before anything of its member is written.
    @inline(__always)
    func checkFinite<F: BinaryFloatingPoint>(_ value: F, path: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
        }
    }
}

/// `[String: Value]` dictionaries, which this encoder writes directly: keys as they are (never
/// converted to snake case, as in Foundation).
protocol StringKeyedDictionaryEncodable {
    static func encodeStrataJSON<T>(_ value: T, into state: JSONEncodingState) throws
}

extension Dictionary: StringKeyedDictionaryEncodable where Key == String, Value: Encodable {
    static func encodeStrataJSON<T>(_ value: T, into state: JSONEncodingState) throws {
        let dictionary = reinterpret(value, as: [String: Value].self)
        let (depth, id) = state.pushObject()
        for (key, element) in dictionary {
            try state.activate(depth, id)
            state.beginRawMember(depth, key: key)
            try state.encodeValue(element)
        }
        try state.activate(depth, id)
        state.close(downTo: depth)
    }
}
