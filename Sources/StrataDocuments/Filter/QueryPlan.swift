import Foundation

/// How a query finds its candidates: through one declared index, or by scanning every document.
/// Candidates are always checked against the whole filter, so a plan changes speed, never results.
public struct QueryPlan: Sendable, Hashable, CustomStringConvertible {
    /// The kind of lookup.
    public enum Strategy: String, Sendable, Hashable {
        /// Every document is examined.
        case fullScan
        /// Hash lookups of one or more values (`$eq`, a plain value, `$in`).
        case equality
        /// A walk of the index's sorted values between bounds (`$gt`, `$gte`, `$lt`, `$lte`).
        case range
        /// A walk of the string values starting with a prefix (`$sw`).
        case prefix
    }

    /// The index used (its field path), or `nil` for a full scan.
    public let index: String?
    /// The kind of lookup.
    public let strategy: Strategy

    /// Creates a plan (for comparisons in tests and tools).
    public init(index: String?, strategy: Strategy) {
        self.index = index
        self.strategy = strategy
    }

    public var description: String {
        index.map { "\(strategy.rawValue) on index \($0)" } ?? "full scan"
    }

    static let fullScan = QueryPlan(index: nil, strategy: .fullScan)
}

/// Picks an index for a filter: the first top-level field condition (or member of a top-level
/// `$and`) on an indexed path that an index can serve, preferring equality over range over prefix.
enum QueryPlanner {
    struct Lookup {
        let plan: QueryPlan
        let run: (SecondaryIndex) -> Set<String>
    }

    static func lookup(_ filter: DocumentFilter, indexes: [String: SecondaryIndex]) -> Lookup? {
        guard !indexes.isEmpty else { return nil }
        var fields: [(FieldPath, [FieldCondition])] = []
        collect(filter, into: &fields)
        var best: (Lookup, Int)?
        for (path, conditions) in fields {
            let name = path.description
            guard indexes[name] != nil else { continue }
            if let candidate = plan(name, conditions), best == nil || candidate.1 < best!.1 { best = candidate }
        }
        return best?.0
    }

    private static func collect(_ filter: DocumentFilter, into fields: inout [(FieldPath, [FieldCondition])]) {
        switch filter {
        case .field(let path, let conditions): fields.append((path, conditions))
        case .and(let parts): for part in parts { collect(part, into: &fields) }
        case .all, .or: return
        }
    }

    /// A lookup for one field's conditions and its preference (lower is better).
    private static func plan(_ name: String, _ conditions: [FieldCondition]) -> (Lookup, Int)? {
        for condition in conditions {
            switch condition {
            case .eq(let value):
                if let key = IndexKey(value), key != .null {
                    return (Lookup(plan: QueryPlan(index: name, strategy: .equality)) { $0.equal([key]) }, 0)
                }
            case .in(let values):
                let keys = values.compactMap(IndexKey.init)
                if !values.isEmpty, keys.count == values.count, !keys.contains(.null) {
                    return (Lookup(plan: QueryPlan(index: name, strategy: .equality)) { $0.equal(keys) }, 0)
                }
            default: continue
            }
        }
        var lower: (IndexKey, inclusive: Bool)?
        var upper: (IndexKey, inclusive: Bool)?
        for condition in conditions {
            switch condition {
            case .gt(let v), .gte(let v):
                guard let key = IndexKey(v), key.rank == 2 || key.rank == 3 else { continue }
                if case .gt = condition { lower = (key, false) } else { lower = (key, true) }
            case .lt(let v), .lte(let v):
                guard let key = IndexKey(v), key.rank == 2 || key.rank == 3 else { continue }
                if case .lt = condition { upper = (key, false) } else { upper = (key, true) }
            default: continue
            }
        }
        if let l = lower, let u = upper, l.0.rank != u.0.rank { upper = nil }
        if lower != nil || upper != nil {
            let (l, u) = (lower, upper)
            return (Lookup(plan: QueryPlan(index: name, strategy: .range)) { $0.range(lower: l, upper: u) }, 1)
        }
        for condition in conditions {
            if case .startsWith(let prefix) = condition {
                return (Lookup(plan: QueryPlan(index: name, strategy: .prefix)) { $0.prefix(prefix) }, 2)
            }
        }
        return nil
    }
}
