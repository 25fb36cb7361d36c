import Foundation

/// How document values are compared: equality for filters, ranges for `$gt`…`$lte`, and the
/// total order used by `sort`.
///
/// - Numbers compare numerically whatever their representation (`30 == 30.0`); a number never
///   equals a string (`30 != "30"`).
/// - Strings compare by their UTF-8 bytes (the order stream names use).
/// - Sort order across types: missing < `null` < numbers < strings < objects < arrays < booleans
///   (MongoDB's order, without the BSON-only types).
public enum DocumentOrder {
    /// The type classes in sort order.
    enum TypeRank: Int, Comparable {
        case null = 1, number, string, object, array, bool
        static func < (a: TypeRank, b: TypeRank) -> Bool { a.rawValue < b.rawValue }
    }

    static func rank(_ value: DocumentValue) -> TypeRank {
        switch value {
        case .null: .null
        case .int, .double: .number
        case .string: .string
        case .object: .object
        case .array: .array
        case .bool: .bool
        }
    }

    /// Whether two values are equal under document semantics (numbers numerically, objects
    /// member by member, arrays element by element).
    public static func equal(_ a: DocumentValue, _ b: DocumentValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int, .double), (.double, .int), (.double, .double): return compareNumbers(a, b) == 0
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        default: return false
        }
    }

    /// Compares two values of the same type class (-1, 0, 1); `nil` when their classes differ,
    /// which is what range operators need: `{age: {$gt: 5}}` never matches a string.
    static func compareSameType(_ a: DocumentValue, _ b: DocumentValue) -> Int? {
        guard rank(a) == rank(b) else { return nil }
        return compare(a, b)
    }

    /// The total order of ``DocumentOrder`` (-1, 0, 1).
    public static func compare(_ a: DocumentValue, _ b: DocumentValue) -> Int {
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        switch (a, b) {
        case (.null, .null): return 0
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.string(let x), .string(let y)): return compareBytes(x, y)
        case (.array(let x), .array(let y)):
            for (u, v) in zip(x, y) {
                let c = compare(u, v)
                if c != 0 { return c }
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        case (.object(let x), .object(let y)):
            let kx = x.keys.sorted(by: DocumentJSON.utf8Less), ky = y.keys.sorted(by: DocumentJSON.utf8Less)
            for (k1, k2) in zip(kx, ky) {
                let c = compareBytes(k1, k2)
                if c != 0 { return c }
                let d = compare(x[k1]!, y[k2]!)
                if d != 0 { return d }
            }
            return kx.count == ky.count ? 0 : (kx.count < ky.count ? -1 : 1)
        default: return compareNumbers(a, b)
        }
    }

    static func compareBytes(_ x: String, _ y: String) -> Int {
        if x.utf8.elementsEqual(y.utf8) { return 0 }
        return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
    }

    /// Compares two numbers exactly, also an `Int64` against a `Double`.
    static func compareNumbers(_ a: DocumentValue, _ b: DocumentValue) -> Int {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.double(let x), .double(let y)): return x == y ? 0 : (x < y ? -1 : 1)
        case (.int(let x), .double(let y)): return compareIntDouble(x, y)
        case (.double(let x), .int(let y)): return -compareIntDouble(y, x)
        default: return 0
        }
    }

    private static func compareIntDouble(_ i: Int64, _ d: Double) -> Int {
        if d >= 9.223372036854775807e18 { return -1 }
        if d < -9.223372036854775808e18 { return 1 }
        let floor = d.rounded(.down)
        let f = Int64(floor)
        if i < f { return -1 }
        if i > f { return 1 }
        return d > floor ? -1 : 0
    }
}
