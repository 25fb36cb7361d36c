/// Which events of a stream a read may return, given its deletion state and metadata. Every
/// backend uses this, so `maxCount`, `maxAge`, `truncateBefore` and soft deletes read the same
/// everywhere.
public struct StreamVisibility: Sendable {
    /// The lowest revision a read may return (events below are hidden).
    public let firstRevision: UInt64
    /// The highest revision (the stream's last revision).
    public let lastRevision: UInt64
    /// Events recorded before this time (microseconds) are hidden; `Int64.min` when no `maxAge`.
    public let notBeforeMicros: Int64

    /// Computes visibility for a stream.
    /// - Parameters:
    ///   - lastRevision: the last revision ever written.
    ///   - deletedThrough: revisions up to this one were soft-deleted (0 when never).
    ///   - metadata: the stream's metadata.
    ///   - nowMicros: the current time.
    public init(lastRevision: UInt64, deletedThrough: UInt64, metadata: StreamMetadata, nowMicros: Int64) {
        var first = deletedThrough + 1
        if let t = metadata.truncateBefore { first = Swift.max(first, t) }
        if let maxCount = metadata.maxCount {
            let keep = UInt64(Swift.max(0, maxCount))
            if lastRevision >= keep { first = Swift.max(first, lastRevision - keep + 1) }
        }
        self.firstRevision = Swift.max(first, 1)
        self.lastRevision = lastRevision
        if let maxAge = metadata.maxAge {
            self.notBeforeMicros = nowMicros - Int64((maxAge * 1_000_000).rounded())
        } else {
            self.notBeforeMicros = Int64.min
        }
    }

    /// Whether revisions in range can be visible at all.
    public var isEmpty: Bool { firstRevision > lastRevision }

    /// Whether an event with this recorded time passes `maxAge`.
    @inlinable
    public func admits(recordedAtMicros: Int64) -> Bool { recordedAtMicros >= notBeforeMicros }

    /// The revisions to visit for a read from `origin` in `direction`, clamped to the visible range.
    public func revisions(from origin: ReadOrigin, direction: ReadDirection) -> ClosedRange<UInt64>? {
        guard !isEmpty else { return nil }
        switch direction {
        case .forward:
            let start: UInt64
            switch origin {
            case .start: start = firstRevision
            case .end: return nil
            case .at(let r): start = Swift.max(r, firstRevision)
            }
            return start <= lastRevision ? start...lastRevision : nil
        case .backward:
            let start: UInt64
            switch origin {
            case .start, .end: start = lastRevision
            case .at(let r): start = Swift.min(r, lastRevision)
            }
            return start >= firstRevision ? firstRevision...start : nil
        }
    }
}
