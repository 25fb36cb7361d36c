/// Events to append to one stream, with the writer's expectation about that stream.
public struct AppendRequest: Sendable, Hashable {
    /// The stream to append to.
    public var stream: String
    /// The optimistic-concurrency check.
    public var expectedRevision: ExpectedRevision
    /// The events, in order; all or none are stored.
    public var events: [EventData]

    /// Creates an append request.
    public init(stream: String, expectedRevision: ExpectedRevision = .any, events: [EventData]) {
        self.stream = stream
        self.expectedRevision = expectedRevision
        self.events = events
    }
}

/// Where an append put its events.
public struct AppendResult: Sendable, Hashable {
    /// The stream appended to.
    public let stream: String
    /// The revision of the first appended event.
    public let firstRevision: UInt64
    /// The revision of the last appended event: the next expected revision.
    public let lastRevision: UInt64
    /// The position of the first appended event.
    public let firstPosition: UInt64
    /// The position of the last appended event.
    public let lastPosition: UInt64

    /// Creates an append result.
    public init(stream: String, firstRevision: UInt64, lastRevision: UInt64, firstPosition: UInt64, lastPosition: UInt64) {
        self.stream = stream
        self.firstRevision = firstRevision
        self.lastRevision = lastRevision
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
    }
}

/// A query over event types and tags, for conditional appends (Dynamic Consistency Boundary).
///
/// An event matches the query when it matches any of its items. An item matches an event when
/// the event's type is one of the item's types (or the item lists no types) and the event
/// carries every tag of the item (tags live in the metadata's `"tags"` array).
public struct EventQuery: Sendable, Hashable {
    /// One alternative of a query.
    public struct Item: Sendable, Hashable {
        /// Event types, any of which matches; empty means any type.
        public var types: Set<String>
        /// Tags that must all be present on the event; empty means no tag constraint.
        public var tags: Set<String>
        /// Creates a query item.
        public init(types: Set<String> = [], tags: Set<String> = []) {
            self.types = types
            self.tags = tags
        }
    }

    /// The alternatives; an event matching any of them matches the query.
    public var items: [Item]

    /// Creates a query from its items.
    public init(items: [Item]) { self.items = items }
    /// Creates a query with a single item.
    public init(types: Set<String> = [], tags: Set<String> = []) { self.items = [Item(types: types, tags: tags)] }

    /// Whether an event with this type and metadata matches. Metadata is parsed only when a
    /// type-matching item has tags.
    public func matches(type: String, metadata: () -> [String]) -> Bool {
        var tags: Set<String>?
        for item in items where item.types.isEmpty || item.types.contains(type) {
            if item.tags.isEmpty { return true }
            if tags == nil { tags = Set(metadata()) }
            if item.tags.isSubset(of: tags!) { return true }
        }
        return false
    }

    /// Whether a recorded event matches.
    public func matches(_ event: RecordedEvent) -> Bool {
        matches(type: event.type) { event.tags }
    }
}

/// A condition on a whole append: fail if any event matching ``query`` was recorded after
/// ``after`` (a position the writer has read up to; `nil` means "ever").
public struct AppendCondition: Sendable, Hashable {
    /// The events that must not have appeared.
    public var query: EventQuery
    /// The last position the writer's decision took into account.
    public var after: UInt64?

    /// Creates a condition.
    public init(failIfEventsMatch query: EventQuery, after: UInt64?) {
        self.query = query
        self.after = after
    }
}
