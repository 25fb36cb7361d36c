internal import StrataJSON

/// The `$all` page walk shared by backends that can fetch an event by position: applies the
/// origin, direction, filter and page bounds, and bounds the work of one page for sparse filters.
public enum AllPageScan {
    /// The most positions one page examines before returning (possibly with no events).
    public static let maxScanPerPage = 65_536

    /// Walks positions `firstPosition...head`, every one of which holds an event (`event` hands
    /// it out), and returns one page: ``walk(head:firstPosition:origin:direction:filter:maxCount:start:next:)``
    /// over dense positions.
    public static func scan(head: UInt64, firstPosition: UInt64, origin: ReadOrigin, direction: ReadDirection,
                            filter: EventFilter, maxCount: Int,
                            event: (UInt64) throws -> RecordedEvent) rethrows -> AllPage {
        var p: UInt64 = 0
        return try walk(head: head, firstPosition: firstPosition, origin: origin, direction: direction, filter: filter,
                        maxCount: maxCount, start: { p = $0 }) {
            switch direction {
            case .forward:
                guard p <= head else { return nil }
                p += 1
                return try event(p - 1)
            case .backward:
                guard p >= firstPosition && p > 0 else { return nil }
                p -= 1
                return try event(p + 1)
            }
        }
    }
}

extension AllPageScan {
    /// Walks the stored events of `$all` in order, where positions may skip (a scavenged store,
    /// docs/CONTRACT.md "Scavenging"), and returns one page. The backend positions a cursor with
    /// `start` (the first position to visit: the lowest forward, the highest backward) and hands
    /// out events with `next` (nil at the end of the range).
    public static func walk(head: UInt64, firstPosition: UInt64, origin: ReadOrigin, direction: ReadDirection,
                            filter: EventFilter, maxCount: Int,
                            start: (UInt64) throws -> Void, next: () throws -> RecordedEvent?) rethrows -> AllPage {
        var events: [RecordedEvent] = []
        guard maxCount > 0 else { return AllPage(events: [], next: origin.position(default: firstPosition), scannedThrough: 0) }
        var scanned = 0
        switch direction {
        case .forward:
            let from: UInt64
            switch origin {
            case .start: from = firstPosition
            case .end: return AllPage(events: [], next: nil, scannedThrough: head)
            case .at(let at): from = Swift.max(at, firstPosition)
            }
            guard from <= head else { return AllPage(events: [], next: nil, scannedThrough: head) }
            try start(from)
            while let e = try next() {
                if events.count == maxCount || scanned == maxScanPerPage {
                    return AllPage(events: events, next: e.position, scannedThrough: e.position - 1)
                }
                if filter.isEmpty || filter.matches(stream: e.stream, type: e.type) { events.append(e) }
                scanned += 1
            }
            return AllPage(events: events, next: nil, scannedThrough: head)
        case .backward:
            let from: UInt64
            switch origin {
            case .start, .end: from = head
            case .at(let at): from = Swift.min(at, head)
            }
            guard from >= firstPosition && from > 0 else { return AllPage(events: [], next: nil, scannedThrough: firstPosition) }
            try start(from)
            while let e = try next() {
                if events.count == maxCount || scanned == maxScanPerPage {
                    return AllPage(events: events, next: e.position, scannedThrough: e.position + 1)
                }
                if filter.isEmpty || filter.matches(stream: e.stream, type: e.type) { events.append(e) }
                scanned += 1
            }
            return AllPage(events: events, next: nil, scannedThrough: firstPosition)
        }
    }
}

extension ReadOrigin {
    /// The position or revision of `.at(n)`; `value` for `.start` and `.end`.
    public func position(default value: UInt64) -> UInt64 {
        if case .at(let p) = self { return p }
        return value
    }
}

/// The order of stream names in listings: ascending by UTF-8 bytes, the same on every backend.
public enum StreamOrder {
    /// Whether `a` sorts before `b`.
    public static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// Checks stream metadata before a backend stores it.
public enum StreamMetadataValidation {
    /// Throws ``StrataError/invalidArgument(_:)`` for negative limits or custom data that is not a JSON object.
    public static func validate(_ metadata: StreamMetadata) throws {
        if let c = metadata.maxCount, c < 0 { throw StrataError.invalidArgument("maxCount must not be negative") }
        if let a = metadata.maxAge, !(a >= 0) { throw StrataError.invalidArgument("maxAge must be a non-negative number of seconds") }
        if let custom = metadata.custom, !JSONSyntax.isObject(custom) {
            throw StrataError.invalidArgument("custom stream metadata must be a JSON object")
        }
    }
}
