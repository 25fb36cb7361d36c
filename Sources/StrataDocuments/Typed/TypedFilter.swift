import Foundation
import Strata

/// A value a typed query compares a field with: the JSON value it is stored as.
public protocol DocumentFieldValue: Sendable {
    /// The value as documents hold it.
    var documentValue: DocumentValue { get }
}

extension String: DocumentFieldValue { public var documentValue: DocumentValue { .string(self) } }
extension Bool: DocumentFieldValue { public var documentValue: DocumentValue { .bool(self) } }
extension Int: DocumentFieldValue { public var documentValue: DocumentValue { .int(Int64(self)) } }
extension Int64: DocumentFieldValue { public var documentValue: DocumentValue { .int(self) } }
extension Int32: DocumentFieldValue { public var documentValue: DocumentValue { .int(Int64(self)) } }
extension Double: DocumentFieldValue { public var documentValue: DocumentValue { .double(self) } }
extension Optional: DocumentFieldValue where Wrapped: DocumentFieldValue {
    /// `nil` is JSON `null` (which also matches a missing field in `==`).
    public var documentValue: DocumentValue { self?.documentValue ?? .null }
}
extension Array: DocumentFieldValue where Element: DocumentFieldValue {
    public var documentValue: DocumentValue { .array(map(\.documentValue)) }
}
extension DocumentFieldValue where Self: RawRepresentable, RawValue: DocumentFieldValue {
    /// A `String`- or `Int`-backed enum compares as its raw value (as `Codable` stores it).
    public var documentValue: DocumentValue { rawValue.documentValue }
}

/// A field of the documents of type `Root`, holding a `Value`: the building block of typed
/// queries (``TypedCollection/query(_:options:)``). Its path is the stored JSON member, dotted
/// for nested members (`"address.city"`), as the `Codable` conformance names it.
///
/// ```swift
/// extension User { static let age = DocumentField<User, Int>("age") }
/// let filter = User.age >= 18 && User.age <= 65
/// ```
public struct DocumentField<Root, Value: DocumentFieldValue>: Sendable {
    /// The path in the stored JSON.
    public let path: FieldPath

    /// A field at a dotted path. The path is checked when the field is created, so write fields
    /// as `static let` constants: a bad path fails at the first use, loudly.
    public init(_ dotted: String) {
        do { path = try FieldPath(dotted) } catch { preconditionFailure("DocumentField(\(dotted.debugDescription)): \(error)") }
    }

    private func condition(_ condition: FieldCondition) -> TypedFilter<Root> { TypedFilter(.field(path, [condition])) }

    /// `$eq`: the field equals `value` (for an array field: holds it).
    public static func == (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.eq(value.documentValue)) }
    /// `$ne`: the field does not equal `value` (a missing field matches).
    public static func != (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.ne(value.documentValue)) }
    /// `$gt`.
    public static func > (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.gt(value.documentValue)) }
    /// `$gte`.
    public static func >= (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.gte(value.documentValue)) }
    /// `$lt`.
    public static func < (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.lt(value.documentValue)) }
    /// `$lte`.
    public static func <= (field: Self, value: Value) -> TypedFilter<Root> { field.condition(.lte(value.documentValue)) }
    /// `$in`: the field equals one of `values`.
    public func `in`(_ values: [Value]) -> TypedFilter<Root> { condition(.in(values.map(\.documentValue))) }
    /// `$nin`: the field equals none of `values` (a missing field matches).
    public func notIn(_ values: [Value]) -> TypedFilter<Root> { condition(.nin(values.map(\.documentValue))) }
    /// `$exists`: the field is present (even `null`), or not.
    public func exists(_ present: Bool = true) -> TypedFilter<Root> { condition(.exists(present)) }
}

extension DocumentField where Value == String {
    /// `$sw`: the string starts with `prefix` (UTF-8 bytes).
    public func hasPrefix(_ prefix: String) -> TypedFilter<Root> { condition(.startsWith(prefix)) }
    /// `$regex`: the string holds a match of `pattern` (with `$options`, e.g. `"i"`).
    /// - Throws: `invalidArgument` for a pattern that does not compile or is over the limit.
    public func matches(_ pattern: String, options: String = "") throws -> TypedFilter<Root> {
        condition(.regex(try FilterRegex(pattern: pattern, options: options)))
    }
}

extension DocumentField where Value: Collection & DocumentFieldValue, Value.Element: DocumentFieldValue {
    /// `$all`: the array field holds every one of `elements`.
    public func containsAll(_ elements: [Value.Element]) -> TypedFilter<Root> { condition(.all(elements.map(\.documentValue))) }
    /// `$eq` on an element: the array field holds `element`.
    public func contains(_ element: Value.Element) -> TypedFilter<Root> { condition(.eq(element.documentValue)) }
}

/// A query over documents of type `Root`, built from ``DocumentField``s with `&&` and `||`;
/// the same ``DocumentFilter`` the untyped API and the HTTP API evaluate.
public struct TypedFilter<Root>: Sendable {
    /// The untyped filter.
    public let filter: DocumentFilter

    /// Wraps an untyped filter (an escape hatch for operators the typed fields lack).
    public init(_ filter: DocumentFilter) { self.filter = filter }

    /// Every document.
    public static var all: TypedFilter { TypedFilter(.all) }

    /// Both hold.
    public static func && (a: TypedFilter, b: TypedFilter) -> TypedFilter { TypedFilter(.and([a.filter, b.filter])) }
    /// Either holds.
    public static func || (a: TypedFilter, b: TypedFilter) -> TypedFilter { TypedFilter(.or([a.filter, b.filter])) }
}
