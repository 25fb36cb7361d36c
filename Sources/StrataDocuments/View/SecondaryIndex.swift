import Foundation

/// A declared secondary index over one field path: value → keys of the documents holding it.
///
/// Equality lookups are hash lookups. Range and prefix lookups walk a sorted list of the
/// distinct values, rebuilt lazily (O(d log d) for d distinct values) the first time a range
/// query runs after writes added or removed a distinct value. Arrays index each scalar element;
/// objects and missing fields are not indexed (queries that need them scan).
/// A reference type: the view mutates its indexes in place while iterating over them, which on
/// a dictionary of values would copy every index on every write.
final class SecondaryIndex {
    let path: FieldPath
    private(set) var postings: [IndexKey: Set<String>] = [:]
    private var sorted: [IndexKey]? = []

    init(path: FieldPath) { self.path = path }

    /// The indexable values of a document at this path.
    func keys(of data: DocumentValue) -> [IndexKey] {
        var result: [IndexKey] = []
        for value in path.resolve(in: data) {
            if case .array(let elements) = value {
                for element in elements { if let key = IndexKey(element) { result.append(key) } }
            } else if let key = IndexKey(value) {
                result.append(key)
            }
        }
        return result
    }

    func insert(_ documentKey: String, data: DocumentValue) {
        for key in keys(of: data) {
            if postings[key, default: []].insert(documentKey).inserted, postings[key]!.count == 1 { sorted = nil }
        }
    }

    func remove(_ documentKey: String, data: DocumentValue) {
        for key in keys(of: data) {
            guard postings[key]?.remove(documentKey) != nil else { continue }
            if postings[key]!.isEmpty { postings[key] = nil; sorted = nil }
        }
    }

    func removeAll() { postings = [:]; sorted = [] }

    /// Keys of documents with a value equal to one of `values`.
    func equal(_ values: [IndexKey]) -> Set<String> {
        var result = Set<String>()
        for value in values { if let set = postings[value] { result.formUnion(set) } }
        return result
    }

    private func sortedKeys() -> [IndexKey] {
        if let sorted { return sorted }
        let keys = postings.keys.sorted()
        sorted = keys
        return keys
    }

    /// Keys of documents with a value in the range (bounds of one type class).
    func range(lower: (IndexKey, inclusive: Bool)?, upper: (IndexKey, inclusive: Bool)?) -> Set<String> {
        let keys = sortedKeys()
        guard let rank = lower?.0.rank ?? upper?.0.rank else { return [] }
        var i: Int
        if let lower {
            i = Self.firstIndex(keys) { lower.inclusive ? $0 >= lower.0 : $0 > lower.0 }
        } else {
            i = Self.firstIndex(keys) { $0.rank >= rank }
        }
        var result = Set<String>()
        while i < keys.count, keys[i].rank == rank {
            if let upper, upper.inclusive ? keys[i] > upper.0 : keys[i] >= upper.0 { break }
            result.formUnion(postings[keys[i]]!)
            i += 1
        }
        return result
    }

    /// Keys of documents with a string value starting with `prefix`.
    func prefix(_ prefix: String) -> Set<String> {
        let keys = sortedKeys()
        let start = IndexKey.string(prefix)
        var i = Self.firstIndex(keys) { $0 >= start }
        var result = Set<String>()
        while i < keys.count, case .string(let s) = keys[i], s.utf8.starts(with: prefix.utf8) {
            result.formUnion(postings[keys[i]]!)
            i += 1
        }
        return result
    }

    private static func firstIndex(_ keys: [IndexKey], where predicate: (IndexKey) -> Bool) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if predicate(keys[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// An indexed scalar. Numbers are indexed as `Double`, so `30` and `30.0` share a posting
/// (integers beyond 2^53 may share one with a neighbour: candidates are always re-checked
/// against the full filter).
enum IndexKey: Hashable, Comparable {
    case null
    case number(Double)
    case string(String)
    case bool(Bool)

    init?(_ value: DocumentValue) {
        switch value {
        case .null: self = .null
        case .int(let i): self = .number(Double(i))
        case .double(let d): self = .number(d == 0 ? 0 : d)
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .array, .object: return nil
        }
    }

    var rank: Int {
        switch self {
        case .null: 1
        case .number: 2
        case .string: 3
        case .bool: 6
        }
    }

    static func < (a: IndexKey, b: IndexKey) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y
        case (.string(let x), .string(let y)): return x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.bool(let x), .bool(let y)): return !x && y
        default: return a.rank < b.rank
        }
    }

    static func == (a: IndexKey, b: IndexKey) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x.utf8.elementsEqual(y.utf8)
        case (.bool(let x), .bool(let y)): x == y
        default: false
        }
    }

    func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .number(let d): hasher.combine(1); hasher.combine(d)
        case .string(let s):
            hasher.combine(2)
            var copy = s
            copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        case .bool(let b): hasher.combine(3); hasher.combine(b)
        }
    }
}
