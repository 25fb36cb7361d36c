/// A least-recently-used cache bounded by its number of entries and by the sum of their costs:
/// whatever is put in, it never holds more than `capacity` entries or more than `maxCost` (one
/// entry costlier than `maxCost` is not kept). Eviction looks for the least recently used entry
/// by a scan, which suits the small capacities the JetStream store uses.
struct BoundedCache<Key: Hashable, Value> {
    let capacity: Int
    let maxCost: Int
    private var entries: [Key: (value: Value, cost: Int, used: UInt64)] = [:]
    private var clock: UInt64 = 0
    /// The sum of the costs held.
    private(set) var cost = 0

    init(capacity: Int, maxCost: Int = .max) {
        self.capacity = Swift.max(0, capacity)
        self.maxCost = maxCost
    }

    /// The number of entries held.
    var count: Int { entries.count }

    mutating func get(_ key: Key) -> Value? {
        guard let e = entries[key] else { return nil }
        clock += 1
        entries[key] = (e.value, e.cost, clock)
        return e.value
    }

    mutating func put(_ key: Key, _ value: Value, cost: Int = 1) {
        if let old = entries.removeValue(forKey: key) { self.cost -= old.cost }
        guard capacity > 0, cost <= maxCost else { return }
        while !entries.isEmpty && (entries.count >= capacity || self.cost + cost > maxCost) {
            let oldest = entries.min { $0.value.used < $1.value.used }!
            self.cost -= oldest.value.cost
            entries[oldest.key] = nil
        }
        clock += 1
        entries[key] = (value, cost, clock)
        self.cost += cost
    }
}
