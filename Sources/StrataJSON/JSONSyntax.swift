import Foundation

/// The syntax check of event payloads on the append path: whether bytes are one valid JSON text
/// (RFC 8259, UTF-8, every number in `Double`'s range), by the same parser as every other JSON
/// reader in Strata (``JSONTree``), allocating nothing once warm.
public enum JSONSyntax {
    /// The deepest nesting accepted.
    public static let maxDepth = JSONTree.maxDepth

    /// Whether the bytes are one valid JSON value whose top level is an object.
    public static func isObject(_ data: Data) -> Bool {
        data.withUnsafeBytes { JSONTree.isValid($0, object: true) }
    }

    /// Whether the bytes are one valid JSON value of any kind.
    public static func isValid(_ data: Data) -> Bool {
        data.withUnsafeBytes { JSONTree.isValid($0) }
    }
}
