import Foundation
internal import StrataJSON

/// An event as the store recorded it: the appended event plus its place in the store.
public struct RecordedEvent: Sendable, Hashable {
    /// The event's id, as appended.
    public let id: UUID
    /// The stream the event belongs to.
    public let stream: String
    /// The event's 1-based number inside its stream.
    public let revision: UInt64
    /// The event's 1-based number in the whole store (`$all`): strictly increasing, no gaps.
    public let position: UInt64
    /// When the store recorded the event: microseconds since 1970-01-01T00:00:00Z.
    public let recordedAtMicroseconds: Int64
    /// The event type.
    public let type: String
    /// How to interpret ``data``.
    public let contentType: ContentType
    /// The payload bytes.
    public let data: Data
    /// The metadata bytes (a JSON object), if any.
    public let metadata: Data?

    /// Creates a recorded event. Backends call this; applications receive them from reads.
    public init(id: UUID, stream: String, revision: UInt64, position: UInt64, recordedAtMicroseconds: Int64,
                type: String, contentType: ContentType = .json, data: Data, metadata: Data?) {
        self.id = id
        self.stream = stream
        self.revision = revision
        self.position = position
        self.recordedAtMicroseconds = recordedAtMicroseconds
        self.type = type
        self.contentType = contentType
        self.data = data
        self.metadata = metadata
    }

    /// The recorded time as a `Date` (UTC).
    public var recordedAt: Date { Date(timeIntervalSince1970: Double(recordedAtMicroseconds) / 1_000_000) }

    /// The tags carried in the metadata's `"tags"` array (empty when there are none).
    public var tags: [String] { EventTags.parse(metadata) }
}

/// Reads the `"tags"` array of an event's metadata (backends that index tags call it at append).
public enum EventTags {
    /// The strings of the metadata's `"tags"` array; empty when there is none or the metadata
    /// is not a JSON object.
    public static func parse(_ metadata: Data?) -> [String] {
        guard let metadata, !metadata.isEmpty else { return [] }
        let tags = try? JSONTree.parse(metadata) { tree -> [String] in
            guard tree.kind(tree.root) == .object, let array = tree.member("tags", of: tree.root), tree.kind(array) == .array else { return [] }
            var tags: [String] = []
            tree.forEachElement(of: array) { if tree.kind($0) == .string { tags.append(tree.string($0)) } }
            return tags
        }
        return tags ?? []
    }
}

/// The current time in microseconds since the Unix epoch, UTC.
public func currentMicroseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
}
