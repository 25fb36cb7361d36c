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

extension QueryOptions {
    /// Parses options from JSON (the form the HTTP API takes):
    /// `{"sort": [{"age": -1}, "name", "-score"], "limit": 10, "offset": 20, "project": ["name", "address.city"]}`.
    /// A sort entry is a path (ascending), `-path` (descending) or a one-member object
    /// `{"path": 1 | -1}`; several keys need an array, because JSON objects have no order.
    /// - Throws: `StrataError.invalidArgument(_:)` for an unknown member or a value of the wrong kind.
    public init(json: DocumentValue) throws {
        guard case .object(let members) = json else { throw StrataError.invalidArgument("query options must be a JSON object") }
        self.init()
        for (name, value) in members {
            switch name {
            case "sort":
                let entries: [DocumentValue]
                switch value {
                case .array(let list): entries = list
                case .object(let o) where o.count == 1: entries = [value]
                case .string: entries = [value]
                default: throw StrataError.invalidArgument("sort must be an array of paths or {\"path\": 1|-1} objects")
                }
                sort = try entries.map { entry in
                    switch entry {
                    case .string(let path):
                        return path.hasPrefix("-") ? SortKey(String(path.dropFirst()), descending: true) : SortKey(path)
                    case .object(let o) where o.count == 1:
                        let (path, direction) = o.first!
                        switch direction.intValue {
                        case 1: return SortKey(path)
                        case -1: return SortKey(path, descending: true)
                        default: throw StrataError.invalidArgument("sort direction of \(path) must be 1 or -1")
                        }
                    default: throw StrataError.invalidArgument("a sort entry must be a path or {\"path\": 1|-1}")
                    }
                }
            case "limit":
                guard let n = value.intValue, n >= 0 else { throw StrataError.invalidArgument("limit must be a non-negative integer") }
                limit = Int(n)
            case "offset":
                guard let n = value.intValue, n >= 0 else { throw StrataError.invalidArgument("offset must be a non-negative integer") }
                offset = Int(n)
            case "project":
                guard case .array(let paths) = value, let strings = Optional(paths.compactMap(\.stringValue)), strings.count == paths.count else {
                    throw StrataError.invalidArgument("project must be an array of paths")
                }
                project = strings
            default:
                throw StrataError.invalidArgument("unknown query option \"\(name)\"; use sort, limit, offset or project")
            }
        }
    }
}
