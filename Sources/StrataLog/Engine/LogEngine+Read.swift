import Foundation
import Strata

extension LogEngine {
    /// Where to find one run of consecutive events in one segment.
    private struct Run {
        let segment: SegmentEntry
        let firstPosition: UInt64
        let offsets: [UInt32]
    }

    /// Copies the offsets of the stored events between `lower` and `upper`, at most `budget` of
    /// them, from the `lower` end (forward) or the `upper` end (backward); runs come out in
    /// position order. `through` is the last position covered from the starting end: `upper`
    /// (forward) or `lower` (backward) unless the budget ran out first. Positions a scavenge
    /// removed (gaps between and inside segments) cost nothing against the budget. Under the
    /// index lock. Copies, so the writer can keep appending to the arrays without a
    /// copy-on-write of a whole segment's offsets.
    private func runs(_ lower: UInt64, _ upper: UInt64, budget: Int, backward: Bool) -> (runs: [Run], through: UInt64) {
        var runs: [Run] = []
        let segments = index.segments
        guard !segments.isEmpty, lower <= upper else { return ([], backward ? lower : upper) }
        // The last segment starting at or before the starting end.
        let key = backward ? upper : lower
        var lo = 0
        var hi = segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if segments[mid].firstPosition <= key { lo = mid } else { hi = mid - 1 }
        }
        var remaining = budget
        var i = lo
        while i >= 0 && i < segments.count {
            let s = segments[i]
            i += backward ? -1 : 1
            let first = Swift.max(lower, s.firstPosition)
            if backward ? (s.eventCount > 0 && s.lastPosition < lower) : first > upper { break }
            guard s.eventCount > 0, first <= s.lastPosition else { continue }
            let last = Swift.min(upper, s.lastPosition)
            guard first <= last else { continue }
            var a = Int(first - s.firstPosition)
            var b = Int(last - s.firstPosition)
            var j = backward ? b : a
            while a <= j && j <= b {
                if s.offset(at: j) != 0 {
                    remaining -= 1
                    if remaining == 0 { break }
                }
                j += backward ? -1 : 1
            }
            if remaining == 0 { if backward { a = j } else { b = j } }
            runs.append(Run(segment: s, firstPosition: s.firstPosition + UInt64(a), offsets: s.offsets(a...b)))
            if remaining == 0 {
                return (backward ? runs.reversed() : runs, s.firstPosition + UInt64(backward ? a : b))
            }
        }
        return (backward ? runs.reversed() : runs, backward ? lower : upper)
    }

    func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) throws -> AllPage {
        let maxScan = filter.isEmpty ? Swift.max(maxCount, 1) : AllPageScan.maxScanPerPage
        var head: UInt64 = 0
        var lower: UInt64 = 0
        var upper: UInt64 = 0
        var scanRuns: [Run] = []
        var first: UInt64 = 1
        try withIndexLock {
            if closed { throw StrataError.storeClosed(reason: "close() was called") }
            head = index.head
            first = index.firstPosition
            switch direction {
            case .forward:
                switch origin {
                case .start: lower = first
                case .end: lower = head + 1
                case .at(let p): lower = Swift.max(p, first)
                }
                upper = lower > head ? 0 : head
                if lower <= upper { (scanRuns, upper) = runs(lower, upper, budget: maxScan, backward: false) }
            case .backward:
                switch origin {
                case .start, .end: upper = head
                case .at(let p): upper = Swift.min(p, head)
                }
                lower = upper < first || upper == 0 ? 1 : first
                if upper >= first && upper > 0 { (scanRuns, lower) = runs(lower, upper, budget: maxScan, backward: true) }
            }
        }
        guard maxCount > 0 else { return AllPage(events: [], next: origin.position(default: lower), scannedThrough: 0) }
        var events: [RecordedEvent] = []
        events.reserveCapacity(Swift.min(maxCount, 1024))
        switch direction {
        case .forward:
            if scanRuns.isEmpty && (lower > head || upper >= head) { return AllPage(events: [], next: nil, scannedThrough: head) }
            for run in scanRuns {
                for (i, offset) in run.offsets.enumerated() {
                    let p = run.firstPosition + UInt64(i)
                    if events.count == maxCount { return AllPage(events: events, next: p, scannedThrough: p - 1) }
                    if offset == 0 { continue }  // scavenged
                    let view = try run.segment.record(at: Int(offset))
                    if filter.isEmpty || filter.matches(stream: view.streamName, type: view.typeName) {
                        events.append(view.recordedEvent())
                    }
                }
            }
            return upper >= head ? AllPage(events: events, next: nil, scannedThrough: head)
                                 : AllPage(events: events, next: upper + 1, scannedThrough: upper)
        case .backward:
            if scanRuns.isEmpty && (upper < first || upper == 0 || lower <= first) { return AllPage(events: [], next: nil, scannedThrough: first) }
            for run in scanRuns.reversed() {
                for (i, offset) in run.offsets.enumerated().reversed() {
                    let p = run.firstPosition + UInt64(i)
                    if events.count == maxCount { return AllPage(events: events, next: p, scannedThrough: p + 1) }
                    if offset == 0 { continue }  // scavenged
                    let view = try run.segment.record(at: Int(offset))
                    if filter.isEmpty || filter.matches(stream: view.streamName, type: view.typeName) {
                        events.append(view.recordedEvent())
                    }
                }
            }
            return lower <= first ? AllPage(events: events, next: nil, scannedThrough: first)
                                  : AllPage(events: events, next: lower - 1, scannedThrough: lower)
        }
    }

    func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) throws -> StreamPage {
        let now = currentMicroseconds()
        var locations: [(SegmentEntry, Int)] = []
        var next: UInt64?
        var visibility: StreamVisibility?
        try withIndexLock {
            if closed { throw StrataError.storeClosed(reason: "close() was called") }
            guard let entry = index.stream(stream), entry.lastRevision > 0 || entry.tombstoned else { throw StrataError.streamNotFound(stream) }
            if entry.tombstoned { throw StrataError.streamTombstoned(stream) }
            if !entry.exists { throw StrataError.streamNotFound(stream) }
            let v = StreamVisibility(lastRevision: entry.lastRevision, deletedThrough: entry.deletedThrough,
                                     metadata: entry.metadata, nowMicros: now)
            visibility = v
            guard maxCount > 0, let range = v.revisions(from: origin, direction: direction) else { return }
            let backward = direction == .backward
            let found = index.storedRevisions(of: entry, in: range, backward: backward, limit: maxCount)
            locations.reserveCapacity(found.count)
            for (_, position) in found {
                if let location = index.location(of: position) { locations.append(location) }
            }
            // A full page continues after its last revision, when the range goes on.
            if found.count == maxCount, let last = found.last?.revision {
                if !backward && last < range.upperBound { next = last + 1 }
                if backward && last > range.lowerBound { next = last - 1 }
            }
        }
        guard let visibility else { return StreamPage(events: [], next: nil) }
        var events: [RecordedEvent] = []
        events.reserveCapacity(locations.count)
        for (segment, offset) in locations {
            let view = try segment.record(at: offset)
            // Index files find a stream by a hash of its name: confirm the name.
            guard view.hasStreamName(stream) else { continue }
            if visibility.admits(recordedAtMicros: view.recordedAtMicros) { events.append(view.recordedEvent()) }
        }
        return StreamPage(events: events, next: next)
    }

    func streamInfo(_ stream: String) throws -> StreamInfo {
        let now = currentMicroseconds()
        return try withIndexLock {
            if closed { throw StrataError.storeClosed(reason: "close() was called") }
            guard let entry = index.stream(stream) else {
                return .unknown(stream)
            }
            var count = 0
            if entry.exists {
                let v = StreamVisibility(lastRevision: entry.lastRevision, deletedThrough: entry.deletedThrough,
                                         metadata: entry.metadata, nowMicros: now)
                if let range = v.revisions(from: .start, direction: .forward) {
                    let found = index.storedRevisions(of: entry, in: range, backward: false, limit: Int.max)
                    // Each record is read to confirm its stream (index files find streams by
                    // a hash of the name) and, with maxAge, its age.
                    for (_, p) in found {
                        guard let view = try index.record(at: p), view.hasStreamName(stream) else { continue }
                        if entry.metadata.maxAge == nil || v.admits(recordedAtMicros: view.recordedAtMicros) { count += 1 }
                    }
                }
            }
            return StreamInfo(stream: stream, lastRevision: entry.lastRevision, deletedThrough: entry.deletedThrough,
                              isTombstoned: entry.tombstoned, metadata: entry.metadata, eventCount: count)
        }
    }

    func stats() -> StoreStats {
        withIndexLock {
            let bytes = index.segments.reduce(Int64(0)) { $0 + Int64($1.end) }
            return StoreStats(headPosition: index.head, firstPosition: index.firstPosition, streamCount: index.streams.count,
                              bytesOnDisk: bytes,
                              details: ["backend": "log", "directory": directory, "segments": String(index.segments.count),
                                        "durability": "\(configuration.durability)",
                                        "formatVersion": index.allowsGaps ? "2" : "1"])
        }
    }
}
