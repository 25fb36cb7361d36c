import Foundation
import Strata
import StrataStorage

/// Draws for the property test. Every draw goes through these helpers, never through the
/// standard library's `random(in:using:)`, whose algorithm may change between Swift releases,
/// so a run is replayed exactly from the seed it printed.
extension SplitMix64 {
    /// A number in `0..<n` (the tiny modulo bias does not matter here).
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next() % UInt64(n))
    }

    /// A number in `range`.
    mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// A number in `range`.
    mutating func uint64(in range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + next() % (range.upperBound - range.lowerBound + 1)
    }

    /// True `percent` times in 100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func coin() -> Bool { next() & 1 == 1 }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Up to `max` distinct items, in their original order.
    mutating func subset<T>(_ items: [T], max: Int) -> [T] {
        let count = int(in: 0...min(max, items.count))
        var indices = Array(items.indices)
        var chosen: [Int] = []
        for _ in 0..<count { chosen.append(indices.remove(at: below(indices.count))) }
        return chosen.sorted().map { items[$0] }
    }

    /// A version 4 UUID drawn from the generator.
    mutating func uuid() -> UUID {
        var words = (next(), next())
        var bytes = withUnsafeBytes(of: &words) { $0.load(as: uuid_t.self) }
        bytes.6 = (bytes.6 & 0x0F) | 0x40
        bytes.8 = (bytes.8 & 0x3F) | 0x80
        return UUID(uuid: bytes)
    }

    mutating func bytes(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }) }
}
