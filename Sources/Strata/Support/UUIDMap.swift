import Foundation

/// A small open-addressing map from event ids to integers, for the per-append checks that run
/// once per event (duplicate ids in a request, ids planned earlier in a batch). Event ids are
/// random, so a multiply of their bits spreads them well; Swift's `Hasher` costs several times more.
@_spi(Machinery) public struct UUIDMap {
    private var keys: [UUID?]
    private var values: [Int]
    private var mask: Int
    /// The number of entries.
    public private(set) var count = 0

    /// Creates a map sized for about `capacity` entries.
    public init(capacity: Int = 8) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UUID?](repeating: nil, count: size)
        values = [Int](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ id: UUID, _ mask: Int) -> Int {
        let (a, b) = withUnsafeBytes(of: id.uuid) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                                                     $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        // A full 64-bit mix: ids that differ in any byte (random, or sequential in their last
        // bytes) spread over the table.
        var h = (a &* 0x9E37_79B9_7F4A_7C15) ^ b
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The value for `id`, if present.
    public subscript(id: UUID) -> Int? {
        var i = UUIDMap.slot(id, mask)
        while let key = keys[i] {
            if key == id { return values[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Inserts `id → value` unless `id` is present; returns whether it inserted.
    @discardableResult
    public mutating func insert(_ id: UUID, value: Int) -> Bool {
        if (count + 1) * 2 > keys.count { grow() }
        var i = UUIDMap.slot(id, mask)
        while let key = keys[i] {
            if key == id { return false }
            i = (i + 1) & mask
        }
        keys[i] = id
        values[i] = value
        count += 1
        return true
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        self = UUIDMap(capacity: oldKeys.count)
        for (i, key) in oldKeys.enumerated() { if let key { insert(key, value: oldValues[i]) } }
    }
}
