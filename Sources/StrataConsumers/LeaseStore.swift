import Foundation
import Strata

/// An exclusive claim on a name, held by one owner at a time: how the members of a
/// ``ConsumerGroupMember`` group, in one process or many, decide which of them handles which
/// partition (docs/CONSUMERS.md, "Leases").
public struct Lease: Sendable, Hashable, Codable {
    /// The name claimed, e.g. `orders/partitions/3`.
    public var name: String
    /// Who holds it: a member name.
    public var owner: String
    /// A fencing token: it grows every time the lease passes to another owner (or is taken
    /// again after it lapsed), never when its holder renews it.
    public var token: UInt64
    /// When the lease lapses unless renewed, in microseconds since 1970 (UTC) by the lease
    /// store's clock; nil for a lease that lasts as long as its holder's process holds it (a
    /// file lock).
    public var expiresAtMicroseconds: Int64?

    /// Creates a lease value.
    public init(name: String, owner: String, token: UInt64, expiresAtMicroseconds: Int64?) {
        self.name = name
        self.owner = owner
        self.token = token
        self.expiresAtMicroseconds = expiresAtMicroseconds
    }
}

/// Where leases live. Checkpoint stores that can coordinate processes offer leases too:
/// ``FileCheckpointStore`` (file locks, one host), ``MemoryCheckpointStore`` (one process), and
/// the SQLite and PostgreSQL checkpoint stores (lease rows).
///
/// A lease store never lets two owners hold a live lease on one name. Timed leases (rows) lapse
/// when not renewed within their duration, so a holder that stalls longer than that may find its
/// lease taken: renew well within it (``ConsumerGroupMember`` renews at a third of it, and before
/// a batch when less than half of it remains).
public protocol LeaseStore: Sendable {
    /// Takes `name` for `owner` when it is free or lapsed, or renews it when `owner` holds it;
    /// the lease then lasts `duration` from now (a file lock: until released or its process
    /// ends).
    /// - Returns: the lease held, or nil when another owner holds a live lease on `name`.
    func acquire(_ name: String, owner: String, for duration: Duration) async throws -> Lease?

    /// Gives up `name` when `owner` holds it; does nothing otherwise.
    func release(_ name: String, owner: String) async throws

    /// The live leases whose names start with `prefix`, sorted by name.
    func leases(prefix: String) async throws -> [Lease]
}

extension Duration {
    /// The duration in whole microseconds (lease expiries, in every lease store).
    package var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
