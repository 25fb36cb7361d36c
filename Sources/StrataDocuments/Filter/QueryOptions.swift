import Foundation
import Strata

/// How a query orders, pages and shapes its results.
///
/// ```swift
/// QueryOptions(sort: [.descending("age"), .ascending("name")], limit: 10, offset: 20, project: ["name", "address.city"])
/// ```
public struct QueryOptions: Sendable {
    /// Sort keys, most significant first. Ties (and an empty list) are ordered by key, so results
    /// are deterministic. Values order as ``DocumentOrder`` says, a missing field first.
    public var sort: [SortKey]
    /// The most documents returned (`nil`: all).
    public var limit: Int?
    /// Documents skipped after sorting.
    public var offset: Int
    /// Paths to keep in each returned `data` (`id` is always kept); empty keeps everything.
    public var project: [String]

    /// Creates options.
    public init(sort: [SortKey] = [], limit: Int? = nil, offset: Int = 0, project: [String] = []) {
        self.sort = sort
        self.limit = limit
        self.offset = offset
        self.project = project
    }
}

/// One sort key: a dotted path and a direction.
public struct SortKey: Sendable, Hashable {
    /// The field path.
    public var path: String
    /// Largest first when `true`.
    public var descending: Bool

    /// Creates a sort key.
    public init(_ path: String, descending: Bool = false) {
        self.path = path
        self.descending = descending
    }

    /// Smallest first.
    public static func ascending(_ path: String) -> SortKey { SortKey(path) }
    /// Largest first.
    public static func descending(_ path: String) -> SortKey { SortKey(path, descending: true) }
}

/// Sorting, paging and projection of matched documents (shared by every query path).
enum QueryShaping {
    static func apply(_ matched: [Document], options: QueryOptions) throws -> [Document] {
        guard options.offset >= 0 else { throw StrataError.invalidArgument("offset must not be negative") }
        if let limit = options.limit, limit < 0 { throw StrataError.invalidArgument("limit must not be negative") }
        let keys = try options.sort.map { (path: try FieldPath($0.path), descending: $0.descending) }
        let projection = try options.project.map { try FieldPath($0) }
        var documents = matched
        documents.sort { a, b in
            for key in keys {
                let x = key.path.direct(in: a.data), y = key.path.direct(in: b.data)
                let c: Int
                switch (x, y) {
                case (nil, nil): c = 0
                case (nil, _): c = -1
                case (_, nil): c = 1
                case (let x?, let y?): c = DocumentOrder.compare(x, y)
                }
                if c != 0 { return key.descending ? c > 0 : c < 0 }
            }
            return a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        let start = min(options.offset, documents.count)
        let end = options.limit.map { min(documents.count, start + $0) } ?? documents.count
        var page = Array(documents[start ..< end])
        if !projection.isEmpty {
            page = page.map { Document(key: $0.key, data: project($0.data, projection), meta: $0.meta) }
        }
        return page
    }

    static func project(_ data: DocumentValue, _ paths: [FieldPath]) -> DocumentValue {
        var result: DocumentValue = .object([:])
        if let id = data["id"] { result["id"] = id }
        for path in paths {
            guard let value = path.direct(in: data) else { continue }
            set(&result, path.components[...], value)
        }
        return result
    }

    private static func set(_ target: inout DocumentValue, _ components: ArraySlice<String>, _ value: DocumentValue) {
        guard let first = components.first else { target = value; return }
        var child = target[first] ?? .object([:])
        if child.objectValue == nil { child = .object([:]) }
        set(&child, components.dropFirst(), value)
        target[first] = child
    }
}
