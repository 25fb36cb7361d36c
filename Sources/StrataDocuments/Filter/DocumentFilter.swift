import Foundation
import Strata

/// A query over documents, parsed once from a MongoDB-style JSON object and evaluated by one
/// evaluator for `query`, `count` and `subscribe`.
///
/// ```swift
/// let adults = try DocumentFilter(["age": ["$gte": 18], "status": ["$in": ["active", "pending"]]])
/// let page = try documents.query(adults, options: QueryOptions(sort: [.descending("age")], limit: 10))
/// ```
///
/// Semantics (docs/DOCUMENTS.md has the table): a field given a plain value means `$eq`; several
/// fields or operators on one field must all hold; dotted paths reach into nested objects and
/// through arrays of objects; an array field matches when the array itself or any element
/// matches; a missing field matches `$ne`, `$nin`, `$not` and `$exists: false`; values compare by
/// type (`30` never equals `"30"`), numbers numerically.
public indirect enum DocumentFilter: Sendable {
    /// Every document (`{}`).
    case all
    /// Every sub-filter holds (`$and`, or several members of one object).
    case and([DocumentFilter])
    /// At least one sub-filter holds (`$or`).
    case or([DocumentFilter])
    /// Every condition holds for the field at `path`.
    case field(FieldPath, [FieldCondition])

    /// Parses a filter object.
    /// - Throws: `StrataError.invalidArgument(_:)` for an unknown operator, an operand of
    ///   the wrong kind, an invalid regular expression, or a filter that is not an object.
    public init(_ json: DocumentValue) throws {
        self = try FilterParser.parse(json)
    }

    /// Parses a filter from JSON text.
    public init(json text: String) throws {
        self = try FilterParser.parse(try DocumentValue.parse(text))
    }

    /// Whether a document (its `data`) matches.
    /// - Throws: `StrataError.timedOut(_:)` when a `$regex` runs longer than
    ///   ``FilterRegex/matchTimeLimit`` on one value (a hostile pattern).
    public func matches(_ document: DocumentValue) throws -> Bool {
        switch self {
        case .all: return true
        case .and(let filters): return try filters.allSatisfy { try $0.matches(document) }
        case .or(let filters): return try filters.contains { try $0.matches(document) }
        case .field(let path, let conditions):
            let values = path.resolve(in: document)
            return try conditions.allSatisfy { try $0.holds(for: values) }
        }
    }
}

/// A dotted path into a document: `"address.city"`, `"items.0.sku"`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    /// The members (or array indexes) walked in order.
    public let components: [String]

    /// Parses a dotted path.
    /// - Throws: `StrataError.invalidArgument(_:)` for an empty path or component.
    public init(_ dotted: String) throws {
        let parts = dotted.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !dotted.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw StrataError.invalidArgument("field path \"\(dotted)\" has an empty component")
        }
        components = parts
    }

    public var description: String { components.joined(separator: ".") }

    /// The values the path reaches, MongoDB-style: an array met before the last component is
    /// walked element by element (or indexed, for a numeric component). Empty: the field is
    /// missing.
    func resolve(in document: DocumentValue) -> [DocumentValue] {
        var out: [DocumentValue] = []
        walk(document, 0, &out)
        return out
    }

    private func walk(_ value: DocumentValue, _ i: Int, _ out: inout [DocumentValue]) {
        if i == components.count { out.append(value); return }
        switch value {
        case .object(let members):
            if let next = members[components[i]] { walk(next, i + 1, &out) }
        case .array(let elements):
            if let index = Int(components[i]), index >= 0 {
                if index < elements.count { walk(elements[index], i + 1, &out) }
            } else {
                for element in elements where element.objectValue != nil { walk(element, i, &out) }
            }
        default: return
        }
    }

    /// The value at the path without walking through arrays (projection and sorting).
    func direct(in document: DocumentValue) -> DocumentValue? {
        var current = document
        for component in components {
            switch current {
            case .object(let members):
                guard let next = members[component] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(component), index >= 0, index < elements.count else { return nil }
                current = elements[index]
            default: return nil
            }
        }
        return current
    }
}

/// One operator applied to a field.
public indirect enum FieldCondition: Sendable {
    /// `$eq` (also a plain value): the field, or an element of it, equals the operand; `null`
    /// also matches a missing field.
    case eq(DocumentValue)
    /// `$ne`: not `$eq`; a missing field matches.
    case ne(DocumentValue)
    /// `$gt`: the field, or an element, is greater and of the same type class.
    case gt(DocumentValue)
    /// `$gte`.
    case gte(DocumentValue)
    /// `$lt`.
    case lt(DocumentValue)
    /// `$lte`.
    case lte(DocumentValue)
    /// `$in`: `$eq` to any operand.
    case `in`([DocumentValue])
    /// `$nin`: not `$in`; a missing field matches.
    case nin([DocumentValue])
    /// `$all`: `$eq` to every operand (an array field containing them all); empty matches nothing.
    case all([DocumentValue])
    /// `$exists`: the field is present (even `null`) or not.
    case exists(Bool)
    /// `$not`: the conditions do not all hold; a missing field matches.
    case not([FieldCondition])
    /// `$regex` (with `$options`): the field, or an element, is a string the expression finds a match in.
    case regex(FilterRegex)
    /// `$sw`: the field, or an element, is a string starting with the operand (UTF-8 bytes).
    case startsWith(String)

    func holds(for values: [DocumentValue]) throws -> Bool {
        switch self {
        case .eq(let operand): return Self.equals(values, operand)
        case .ne(let operand): return !Self.equals(values, operand)
        case .gt(let operand): return Self.compares(values, operand) { $0 > 0 }
        case .gte(let operand): return Self.compares(values, operand) { $0 >= 0 }
        case .lt(let operand): return Self.compares(values, operand) { $0 < 0 }
        case .lte(let operand): return Self.compares(values, operand) { $0 <= 0 }
        case .in(let operands): return operands.contains { Self.equals(values, $0) }
        case .nin(let operands): return !operands.contains { Self.equals(values, $0) }
        case .all(let operands): return !operands.isEmpty && operands.allSatisfy { Self.equals(values, $0) }
        case .exists(let wanted): return values.isEmpty != wanted
        case .not(let conditions): return try !conditions.allSatisfy { try $0.holds(for: values) }
        case .regex(let regex): return try Self.any(values) { value in try value.stringValue.map { try regex.matches($0) } ?? false }
        case .startsWith(let prefix):
            return Self.any(values) { $0.stringValue.map { $0.utf8.starts(with: prefix.utf8) } ?? false }
        }
    }

    /// Whether a value, or an element of an array value, satisfies `predicate`.
    static func any(_ values: [DocumentValue], _ predicate: (DocumentValue) throws -> Bool) rethrows -> Bool {
        for value in values {
            if try predicate(value) { return true }
            if case .array(let elements) = value, try elements.contains(where: predicate) { return true }
        }
        return false
    }

    static func equals(_ values: [DocumentValue], _ operand: DocumentValue) -> Bool {
        if values.isEmpty { return operand.isNull }
        return any(values) { DocumentOrder.equal($0, operand) }
    }

    static func compares(_ values: [DocumentValue], _ operand: DocumentValue, _ accept: (Int) -> Bool) -> Bool {
        any(values) { value in
            // Ranges apply to scalars: arrays are compared element by element by `any`, objects never.
            if case .array = value { return false }
            if case .object = value { return false }
            guard let c = DocumentOrder.compareSameType(value, operand) else { return false }
            return accept(c)
        }
    }
}

/// A compiled `$regex` operand. `NSRegularExpression` is immutable once created and documented
/// as safe to use from several threads at once, hence `@unchecked Sendable`.
public struct FilterRegex: @unchecked Sendable {
    /// The pattern as given.
    public let pattern: String
    /// The options as given (`i`, `m`, `s`, `x`).
    public let options: String
    let expression: NSRegularExpression

    /// The longest pattern accepted, in UTF-8 bytes.
    public static let maxPatternBytes = 1024

    /// Compiles a pattern.
    /// - Throws: `StrataError.invalidArgument(_:)` for a pattern that is too long or invalid, or an unknown option.
    public init(pattern: String, options: String = "") throws {
        guard pattern.utf8.count <= Self.maxPatternBytes else {
            throw StrataError.invalidArgument("$regex pattern is \(pattern.utf8.count) bytes; the limit is \(Self.maxPatternBytes)")
        }
        var flags: NSRegularExpression.Options = []
        for option in options {
            switch option {
            case "i": flags.insert(.caseInsensitive)
            case "m": flags.insert(.anchorsMatchLines)
            case "s": flags.insert(.dotMatchesLineSeparators)
            case "x": flags.insert(.allowCommentsAndWhitespace)
            default: throw StrataError.invalidArgument("unknown $options flag \"\(option)\"; use i, m, s or x")
            }
        }
        do {
            expression = try NSRegularExpression(pattern: pattern, options: flags)
        } catch {
            throw StrataError.invalidArgument("invalid regular expression \"\(pattern)\": \(error)")
        }
        self.pattern = pattern
        self.options = options
    }

    /// The longest a `$regex` may run on one value before the evaluation fails with `timedOut`.
    public static let matchTimeLimit: Duration = .milliseconds(100)

    /// Whether the expression finds a match anywhere in `text`.
    /// - Throws: `StrataError.timedOut(_:)` after ``matchTimeLimit`` (checked through
    ///   `NSRegularExpression`'s progress reports during a long match).
    public func matches(_ text: String) throws -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        let allowance = RegexBudget.allowance(upTo: Self.matchTimeLimit)
        let deadline = started + allowance
        var found = false
        var overBudget = allowance <= .zero
        if !overBudget {
            expression.enumerateMatches(in: text, options: [.reportProgress], range: NSRange(text.startIndex..., in: text)) { match, _, stop in
                if match != nil { found = true; stop.pointee = true }
                else if clock.now > deadline { overBudget = true; stop.pointee = true }
            }
        }
        RegexBudget.chargeCurrent(clock.now - started)
        if overBudget {
            if allowance < Self.matchTimeLimit, let budget = RegexBudget.current {
                throw StrataError.timedOut("matching $regex \"\(pattern.prefix(60))\": this request used its \(budget.total) of regular-expression matching; use a simpler or anchored pattern, or a narrower filter")
            }
            throw StrataError.timedOut("matching $regex \"\(pattern.prefix(60))\" for more than \(Self.matchTimeLimit) on one value; use a simpler or anchored pattern")
        }
        return found
    }
}

/// Turns the JSON form of a filter into ``DocumentFilter``.
enum FilterParser {
    static func parse(_ json: DocumentValue) throws -> DocumentFilter {
        guard case .object(let members) = json else {
            throw StrataError.invalidArgument("a filter must be a JSON object, not \(json)")
        }
        var parts: [DocumentFilter] = []
        for key in members.keys.sorted(by: DocumentJSON.utf8Less) {
            let value = members[key]!
            switch key {
            case "$and", "$or":
                guard case .array(let elements) = value, !elements.isEmpty else {
                    throw StrataError.invalidArgument("\(key) needs a non-empty array of filters")
                }
                let filters = try elements.map(parse)
                parts.append(key == "$and" ? .and(filters) : .or(filters))
            default:
                if key.hasPrefix("$") { throw unknownOperator(key, at: "the top level") }
                parts.append(.field(try FieldPath(key), try conditions(value, field: key)))
            }
        }
        switch parts.count {
        case 0: return .all
        case 1: return parts[0]
        default: return .and(parts)
        }
    }

    static func unknownOperator(_ name: String, at place: String) -> StrataError {
        .invalidArgument("unknown query operator \"\(name)\" at \(place); supported: $eq $ne $gt $gte $lt $lte $in $nin $all $exists $not $regex $options $sw $and $or")
    }

    /// A field's value: an operator object (every member an operator) or a plain value for `$eq`.
    static func conditions(_ value: DocumentValue, field: String) throws -> [FieldCondition] {
        guard case .object(let members) = value, members.keys.contains(where: { $0.hasPrefix("$") }) else {
            return [.eq(value)]
        }
        if let plain = members.keys.first(where: { !$0.hasPrefix("$") }) {
            throw StrataError.invalidArgument("field \"\(field)\" mixes operators with the plain member \"\(plain)\"; use {\"$eq\": {...}} to match an object")
        }
        var result: [FieldCondition] = []
        for name in members.keys.sorted(by: DocumentJSON.utf8Less) {
            let operand = members[name]!
            switch name {
            case "$eq": result.append(.eq(operand))
            case "$ne": result.append(.ne(operand))
            case "$gt": result.append(.gt(operand))
            case "$gte": result.append(.gte(operand))
            case "$lt": result.append(.lt(operand))
            case "$lte": result.append(.lte(operand))
            case "$in": result.append(.in(try array(operand, name, field)))
            case "$nin": result.append(.nin(try array(operand, name, field)))
            case "$all": result.append(.all(try array(operand, name, field)))
            case "$exists":
                guard case .bool(let wanted) = operand else {
                    throw StrataError.invalidArgument("$exists on field \"\(field)\" needs true or false")
                }
                result.append(.exists(wanted))
            case "$not":
                guard case .object(let inner) = operand, !inner.isEmpty, inner.keys.allSatisfy({ $0.hasPrefix("$") }) else {
                    throw StrataError.invalidArgument("$not on field \"\(field)\" needs an operator object, e.g. {\"$not\": {\"$gt\": 5}}")
                }
                result.append(.not(try conditions(operand, field: field)))
            case "$regex":
                guard case .string(let pattern) = operand else {
                    throw StrataError.invalidArgument("$regex on field \"\(field)\" needs a string")
                }
                var options = ""
                if let given = members["$options"] {
                    guard case .string(let text) = given else {
                        throw StrataError.invalidArgument("$options on field \"\(field)\" needs a string")
                    }
                    options = text
                }
                result.append(.regex(try FilterRegex(pattern: pattern, options: options)))
            case "$options":
                guard members["$regex"] != nil else {
                    throw StrataError.invalidArgument("$options on field \"\(field)\" needs a $regex beside it")
                }
            case "$sw":
                guard case .string(let prefix) = operand else {
                    throw StrataError.invalidArgument("$sw on field \"\(field)\" needs a string")
                }
                result.append(.startsWith(prefix))
            default:
                throw unknownOperator(name, at: "field \"\(field)\"")
            }
        }
        return result
    }

    static func array(_ operand: DocumentValue, _ name: String, _ field: String) throws -> [DocumentValue] {
        guard case .array(let elements) = operand else {
            throw StrataError.invalidArgument("\(name) on field \"\(field)\" needs an array")
        }
        return elements
    }
}

extension DocumentFilter {
    /// The filter as JSON (the canonical form of what was parsed: plain values become `$eq`).
    public var json: DocumentValue {
        switch self {
        case .all: return .object([:])
        case .and(let parts): return ["$and": .array(parts.map(\.json))]
        case .or(let parts): return ["$or": .array(parts.map(\.json))]
        case .field(let path, let conditions): return .object([path.description: FieldCondition.json(conditions)])
        }
    }
}

extension FieldCondition {
    static func json(_ conditions: [FieldCondition]) -> DocumentValue {
        var members: [String: DocumentValue] = [:]
        for condition in conditions {
            switch condition {
            case .eq(let v): members["$eq"] = v
            case .ne(let v): members["$ne"] = v
            case .gt(let v): members["$gt"] = v
            case .gte(let v): members["$gte"] = v
            case .lt(let v): members["$lt"] = v
            case .lte(let v): members["$lte"] = v
            case .in(let v): members["$in"] = .array(v)
            case .nin(let v): members["$nin"] = .array(v)
            case .all(let v): members["$all"] = .array(v)
            case .exists(let b): members["$exists"] = .bool(b)
            case .not(let inner): members["$not"] = json(inner)
            case .regex(let r):
                members["$regex"] = .string(r.pattern)
                if !r.options.isEmpty { members["$options"] = .string(r.options) }
            case .startsWith(let p): members["$sw"] = .string(p)
            }
        }
        return .object(members)
    }
}
