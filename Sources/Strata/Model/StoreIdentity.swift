import Foundation

/// Which store this is: a short opaque text recorded when the store is created (docs/CONTRACT.md,
/// "Store identity"). Every process that opens the store, and every copy of it (a restored
/// backup), reports the same identity; two stores never share one. Checkpoints record the
/// identity of the store they were made for, so that a checkpoint folder pointed at another
/// store is refused (``StrataError/checkpointOfAnotherStore(consumer:recorded:actual:)``)
/// instead of silently skipping or repeating events.
///
/// New stores get a random UUID (lower case). A backend derives it where the store already
/// carries a creation record (a JetStream stream's creation time; a log store created before
/// identities existed, from its manifest's creation time).
public struct StoreIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The identity as text: 1 to 512 printable ASCII characters.
    public let value: String

    /// An identity from its text.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for an empty, over-long or non-printable text.
    public init(_ value: String) throws {
        guard !value.isEmpty, value.utf8.count <= 512, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw StrataError.invalidArgument("a store identity is 1 to 512 printable ASCII characters without spaces, not \(value.debugDescription)")
        }
        self.value = value
    }

    /// The identity of a UUID (lower case).
    public init(uuid: UUID) {
        value = uuid.uuidString.lowercased()
    }

    /// A new random identity, for a store being created.
    public static func random() -> StoreIdentity { StoreIdentity(uuid: UUID()) }

    public var description: String { value }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// Checks a recorded identity against the store's: returns whether `recorded` is nil (nothing
    /// recorded yet: the caller records `actual`).
    /// - Throws: ``StrataError/checkpointOfAnotherStore(consumer:recorded:actual:)`` when they differ.
    public static func check(recorded: StoreIdentity?, actual: StoreIdentity, consumer: String) throws -> Bool {
        guard let recorded else { return true }
        guard recorded == actual else {
            throw StrataError.checkpointOfAnotherStore(consumer: consumer, recorded: recorded.value, actual: actual.value)
        }
        return false
    }
}
