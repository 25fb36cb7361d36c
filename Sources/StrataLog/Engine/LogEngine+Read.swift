import Foundation
import Strata

extension LogEngine {
    /// Where to find one run of consecutive events in one segment.
    private struct Run {
        let segment: SegmentEntry
        let firstPosition: UInt64
        let offsets: [UInt32]
    }

    /// Copies the offsets of positions `lower...upper` (already clamped to what is stored).
    /// Under the index lock. Copies, so the writer can keep appending to the arrays without a
    /// copy-on-write of a whole segment's offsets.
    private func runs(_ lower: UInt64, _ upper: UInt64) -> [Run] {
        var runs: [Run] = []
        var p = lower
        while p <= upper, let i = index.segmentIndex(containing: p) {
            let s = index.segments[i]
            let last = Swift.min(upper, s.lastPosition)
            let a = Int(p - s.firstPosition)
            let b = Int(last - s.firstPosition)
            runs.append(Run(segment: s, firstPosition: p, offsets: Array(s.offsets[a...b])))
            p = last + 1
        }
        return runs
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
                upper = lower > head ? 0 : Swift.min(head, lower + UInt64(maxScan) - 1)
                if lower <= upper { scanRuns = runs(lower, upper) }
            case .backward:
                switch origin {
                case .start, .end: upper = head
                case .at(let p): upper = Swift.min(p, head)
                }
                lower = upper < first || upper == 0 ? 1 : Swift.max(first, upper >= UInt64(maxScan) ? upper - UInt64(maxScan) + 1 : 1)
                if upper >= first && upper > 0 { scanRuns = runs(lower, upper) }
            }
        }
        guard maxCount > 0 else { return AllPage(events: [], next: origin.position(default: lower), scannedThrough: 0) }
        var events: [RecordedEvent] = []
        events.reserveCapacity(Swift.min(maxCount, 1024))
        switch direction {
        case .forward:
            if scanRuns.isEmpty { return AllPage(events: [], next: nil, scannedThrough: head) }
            for run in scanRuns {
                for (i, offset) in run.offsets.enumerated() {
                    let p = run.firstPosition + UInt64(i)
                    if events.count == maxCount { return AllPage(events: events, next: p, scannedThrough: p - 1) }
                    let view = try run.segment.record(at: Int(offset))
                    if filter.isEmpty || filter.matches(stream: view.streamName, type: view.typeName) {
                        events.append(view.recordedEvent())
                    }
                }
            }
            return upper >= head ? AllPage(events: events, next: nil, scannedThrough: head)
                                 : AllPage(events: events, next: upper + 1, scannedThrough: upper)
        case .backward:
            if scanRuns.isEmpty { return AllPage(events: [], next: nil, scannedThrough: first) }
            for run in scanRuns.reversed() {
                for (i, offset) in run.offsets.enumerated().reversed() {
                    let p = run.firstPosition + UInt64(i)
                    if events.count == maxCount { return AllPage(events: events, next: p, scannedThrough: p + 1) }
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
            locations.reserveCapacity(Swift.min(maxCount, range.count))
            var r = direction == .forward ? range.lowerBound : range.upperBound
            while range.contains(r) {
                if locations.count == maxCount { next = r; break }
                let position = entry.positions[Int(r - 1)]
                if let location = index.location(of: position) { locations.append(location) }
                if direction == .forward { r += 1 } else { if r == 0 { break }; r -= 1 }
            }
        }
        guard let visibility else { return StreamPage(events: [], next: nil) }
        var events: [RecordedEvent] = []
        events.reserveCapacity(locations.count)
        for (segment, offset) in locations {
            let view = try segment.record(at: offset)
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
                    if entry.metadata.maxAge == nil {
                        for r in range where entry.positions[Int(r - 1)] >= index.firstPosition { count += 1 }
                    } else {
                        for r in range {
                            let p = entry.positions[Int(r - 1)]
                            if let view = try index.record(at: p), v.admits(recordedAtMicros: view.recordedAtMicros) { count += 1 }
                        }
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
                                        "durability": "\(configuration.durability)", "formatVersion": "1"])
        }
    }
}
