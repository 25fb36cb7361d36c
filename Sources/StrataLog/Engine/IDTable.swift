import Foundation

/// Event id → position, for idempotency checks: an open-addressing hash table of 64-bit id
/// hashes with linear probing, stored flat so that the index checkpoint saves and loads it as
/// one block. A hash hit is confirmed by reading the event's id from the log.
struct IDTable {
    /// Interleaved slots: `[2i]` is the hash (0 = empty), `[2i + 1]` the position.
    private(set) var slots: [UInt64]
    private(set) var count: Int

    init(capacity: Int = 1024) {
        let c = Swift.max(16, capacity.nextPowerOfTwo)
        slots = [UInt64](repeating: 0, count: c * 2)
        count = 0
    }

    init(slots: [UInt64], count: Int) {
        precondition(slots.count >= 32 && (slots.count / 2).nonzeroBitCount == 1, "ID table capacity must be a power of two")
        self.slots = slots
        self.count = count
    }

    var capacity: Int { slots.count / 2 }

    static func hash(_ id: UUID) -> UInt64 {
        let (a, b) = withUnsafeBytes(of: id.uuid) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                                                     $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        var h = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019)
        h ^= h >> 31
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        return h == 0 ? 1 : h
    }

    mutating func insert(_ id: UUID, position: UInt64) {
        insert(hash: IDTable.hash(id), position: position)
    }

    mutating func insert(hash: UInt64, position: UInt64) {
        if (count + 1) * 4 > capacity * 3 { grow() }
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        slots.withUnsafeMutableBufferPointer { s in
            while s[2 * i] != 0 { i = (i + 1) & mask }
            s[2 * i] = hash
            s[2 * i + 1] = position
        }
        count += 1
    }

    /// Touches the home slot of every id so that the cache misses of a batch overlap (the
    /// loads are independent), making the lookups that follow hit the cache.
    func prefetch(_ ids: [UUID]) {
        let mask = capacity - 1
        var sink: UInt64 = 0
        slots.withUnsafeBufferPointer { s in
            for id in ids { sink &+= s[2 * (Int(truncatingIfNeeded: IDTable.hash(id)) & mask)] }
        }
        IDTable.keep(sink)
    }

    /// Consumes a value so that the touching loop is not optimised away.
    @_optimize(none) static func keep(_ value: UInt64) {}

    /// Calls `body` with every position whose id hash equals the id's, until it returns true.
    func firstPosition(for id: UUID, where body: (UInt64) throws -> Bool) rethrows -> UInt64? {
        let hash = IDTable.hash(id)
        let mask = capacity - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let h = slots[2 * i]
            if h == 0 { return nil }
            if h == hash, try body(slots[2 * i + 1]) { return slots[2 * i + 1] }
            i = (i + 1) & mask
        }
    }

    /// Removes the entries whose position lies in `range` (their segment's index file holds
    /// them now), rebuilding the table at a size fitting what is left.
    mutating func remove(positionsIn range: Range<UInt64>) {
        let old = slots
        var kept = 0
        for i in stride(from: 0, to: old.count, by: 2) where old[i] != 0 && !range.contains(old[i + 1]) { kept += 1 }
        var smaller = IDTable(capacity: Swift.max(1024, kept * 2))
        for i in stride(from: 0, to: old.count, by: 2) where old[i] != 0 && !range.contains(old[i + 1]) {
            smaller.insert(hash: old[i], position: old[i + 1])
        }
        self = smaller
    }

    private mutating func grow() {
        let old = slots
        var bigger = IDTable(capacity: capacity * 2)
        for i in stride(from: 0, to: old.count, by: 2) where old[i] != 0 {
            bigger.insert(hash: old[i], position: old[i + 1])
        }
        self = bigger
    }
}

extension Int {
    var nextPowerOfTwo: Int {
        guard self > 1 else { return 1 }
        return 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}
