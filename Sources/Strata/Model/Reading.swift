/// The direction of a read.
public enum ReadDirection: Sendable, Hashable {
    /// Oldest first.
    case forward
    /// Newest first.
    case backward
}

/// Where a read starts. `at(n)` is inclusive: a revision for stream reads, a position for `$all`.
public enum ReadOrigin: Sendable, Hashable {
    /// The first event (forward) — for a backward read, the same as ``end``.
    case start
    /// The last event (backward) — a forward read from the end returns nothing.
    case end
    /// The event with this revision or position, inclusive.
    case at(UInt64)
}

/// Where a subscription starts.
public enum SubscriptionStart: Sendable, Hashable {
    /// From the first event.
    case start
    /// Only events appended after the subscription starts.
    case end
    /// After this position (for `$all`) or revision (for a stream), exclusive: pass a checkpoint.
    case after(UInt64)
}

/// A filter for `$all` reads and subscriptions. Empty lists mean "no constraint".
public struct EventFilter: Sendable, Hashable, Codable {
    /// Stream-name prefixes, any of which matches (compared byte for byte, as UTF-8).
    public var streamPrefixes: [String]
    /// Event types, any of which matches.
    public var eventTypes: Set<String>

    /// Creates a filter.
    public init(streamPrefixes: [String] = [], eventTypes: Set<String> = []) {
        self.streamPrefixes = streamPrefixes
        self.eventTypes = eventTypes
    }

    /// Whether the filter lets every event through.
    public var isEmpty: Bool { streamPrefixes.isEmpty && eventTypes.isEmpty }

    /// Whether an event of this stream and type passes.
    @inlinable
    public func matches(stream: String, type: String) -> Bool {
        if !eventTypes.isEmpty && !eventTypes.contains(type) { return false }
        if streamPrefixes.isEmpty { return true }
        for prefix in streamPrefixes where stream.utf8.starts(with: prefix.utf8) { return true }
        return false
    }
}

/// One page of a stream read.
public struct StreamPage: Sendable {
    /// The events, in the read's direction.
    public var events: [RecordedEvent]
    /// The revision to continue from, or `nil` when the read reached the end.
    public var next: UInt64?
    /// Creates a page.
    public init(events: [RecordedEvent], next: UInt64?) {
        self.events = events
        self.next = next
    }
}

/// One page of an `$all` read.
public struct AllPage: Sendable {
    /// The matching events, in the read's direction.
    public var events: [RecordedEvent]
    /// The position to continue from, or `nil` when the read reached the end of the log.
    public var next: UInt64?
    /// The last position this page examined, matching or not (for checkpoints of filtered
    /// reads); for a forward read that reached the end, the head position at read time.
    public var scannedThrough: UInt64
    /// Creates a page.
    public init(events: [RecordedEvent], next: UInt64?, scannedThrough: UInt64) {
        self.events = events
        self.next = next
        self.scannedThrough = scannedThrough
    }
}
