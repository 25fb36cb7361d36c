import Foundation
import Strata
import StrataJSON

/// Turns the payload of an older version of an event type into the next version.
///
/// Upcasters run when events are read, so stored bytes never change and reads see current
/// shapes. The stored version comes from the metadata's `eventVersion` (1 when absent). Chains
/// run in order: 1 → 2 → 3. An upcaster may also rename the type.
///
/// ```swift
/// // v1 had "name": "Ada Lovelace"; v2 has "name": {"given", "family"}.
/// Upcaster(type: "user:created", from: 1) { payload in
///     let parts = payload["name"]?.stringValue?.split(separator: " ") ?? []
///     payload[member: "name"] = ["given": .string(String(parts.first ?? "")), "family": .string(parts.dropFirst().joined(separator: " "))]
/// }
/// ```
public struct Upcaster: Sendable {
    /// The stored type name this applies to.
    public let type: String
    /// The version it upgrades from (to `from + 1`).
    public let fromVersion: Int
    /// The type name after the upgrade (usually the same).
    public let toType: String
    /// Changes the payload in place.
    public let transform: @Sendable (inout JSONValue) throws -> Void

    /// Creates an upcaster from version `from` of `type` to version `from + 1` of `toType`
    /// (`type` when `nil`).
    public init(type: String, from: Int, to toType: String? = nil, transform: @escaping @Sendable (inout JSONValue) throws -> Void) {
        self.type = type
        self.fromVersion = from
        self.toType = toType ?? type
        self.transform = transform
    }
}
