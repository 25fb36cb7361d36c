import Foundation
import PostgresNIO
import Strata

extension PostgresEventStore {
    public func readStreamPage(_ stream: String, from origin: ReadOrigin, direction: ReadDirection, maxCount: Int) async throws -> StreamPage {
        try Naming.validateReadableStreamName(stream)
        let core = self.core
        return try await core.withConnection("read a stream") { connection in
            guard let (row, now) = try await Self.streamRow(stream, on: connection, core: core) else {
                throw StrataError.streamNotFound(stream)
            }
            if row.tombstoned { throw StrataError.streamTombstoned(stream) }
            if !row.exists { throw StrataError.streamNotFound(stream) }
            let visibility = StreamVisibility(lastRevision: row.lastRevision, deletedThrough: row.deletedThrough,
                                              metadata: row.metadata, nowMicros: now)
            guard maxCount > 0, let range = visibility.revisions(from: origin, direction: direction) else {
                return StreamPage(events: [], next: nil)
            }
            // One more than asked tells whether the read goes on, and from where.
            let text = direction == .forward ? core.sql.readStreamForward : core.sql.readStreamBackward
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: text, binds: try binds(
                stream, Int64(range.lowerBound), Int64(range.upperBound), visibility.notBeforeMicros,
                Int64(maxCount) + 1)), logger: core.logger)
            var events: [RecordedEvent] = []
            events.reserveCapacity(min(rows.count, maxCount))
            var next: UInt64?
            for row in rows {
                let event = try EventRow.decode(row)
                if events.count == maxCount {
                    next = event.revision
                    break
                }
                events.append(event)
            }
            return StreamPage(events: events, next: next)
        }
    }

    public func readAllPage(from origin: ReadOrigin, direction: ReadDirection, filter: EventFilter, maxCount: Int) async throws -> AllPage {
        try core.checkOpen()
        guard maxCount > 0 else { return AllPage(events: [], next: origin.position(default: 1), scannedThrough: 0) }
        if direction == .forward, case .end = origin {
            return AllPage(events: [], next: nil, scannedThrough: try await headPosition())
        }
        // Types and prefixes with U+0000 match no stored event (names cannot hold it), and
        // PostgreSQL's text cannot carry it: drop them, and when a non-empty list drops to
        // nothing, nothing matches — read with an impossible filter instead.
        let impossible = "\u{1}"
        var types = filter.eventTypes.filter { !$0.utf8.contains(0) }
        if types.isEmpty && !filter.eventTypes.isEmpty { types = [impossible] }
        var prefixList = filter.streamPrefixes.filter { !$0.utf8.contains(0) }
        if prefixList.isEmpty && !filter.streamPrefixes.isEmpty { prefixList = [impossible] }
        let typeList = Array(types), prefixes = prefixList
        let window = UInt64(AllPageScan.maxScanPerPage)
        let core = self.core

        let (events, head) = try await core.withConnection("read $all") { connection -> ([RecordedEvent], UInt64) in
            let query: PostgresQuery
            switch direction {
            case .forward:
                let from = max(origin.position(default: 1), 1)
                query = PostgresQuery(unsafeSQL: core.sql.readAllForward, binds: try binds(
                    Int64(clamping: from), Int64(clamping: from.addingReportingOverflow(window - 1).partialValue), Int64(maxCount),
                    typeList, prefixes))
            case .backward:
                let from: UInt64
                switch origin {
                case .start, .end: from = UInt64(Int64.max)
                case .at(let at): from = at
                }
                query = PostgresQuery(unsafeSQL: core.sql.readAllBackward, binds: try binds(
                    Int64(clamping: from), Int64(window), Int64(maxCount), typeList, prefixes))
            }
            var events: [RecordedEvent] = []
            var head: UInt64 = 0
            for row in try await connection.rows(query, logger: core.logger) {
                let (position, id, stream, revision, recordedAt, type, contentType, data, metadata, rowHead) =
                    try row.decode((Int64?, UUID?, String?, Int64?, Int64?, String?, String?, Data?, Data?, Int64).self)
                head = UInt64(rowHead)
                guard let position, let id, let stream, let revision, let recordedAt, let type, let contentType, let data else { continue }
                events.append(RecordedEvent(id: id, stream: stream, revision: UInt64(revision), position: UInt64(position),
                                            recordedAtMicroseconds: recordedAt, type: type,
                                            contentType: ContentType(StoredText.decode(contentType)), data: data, metadata: metadata))
            }
            return (events, head)
        }
        return Self.page(events, head: head, origin: origin, direction: direction, maxCount: maxCount)
    }

    /// The page that ``AllPageScan`` would give for the same events: where the read goes on
    /// and how far it looked, given that the query looked at most one scan window.
    static func page(_ events: [RecordedEvent], head: UInt64, origin: ReadOrigin, direction: ReadDirection, maxCount: Int) -> AllPage {
        let window = UInt64(AllPageScan.maxScanPerPage)
        switch direction {
        case .forward:
            let from = max(origin.position(default: 1), 1)
            if events.count == maxCount, let last = events.last?.position, last < head {
                return AllPage(events: events, next: last + 1, scannedThrough: last)
            }
            let end = from.addingReportingOverflow(window - 1).partialValue
            if from <= head && end < head {
                return AllPage(events: events, next: end + 1, scannedThrough: end)
            }
            return AllPage(events: events, next: nil, scannedThrough: head)
        case .backward:
            var from = head
            if case .at(let at) = origin { from = min(at, head) }
            if events.count == maxCount, let last = events.last?.position, last > 1 {
                return AllPage(events: events, next: last - 1, scannedThrough: last)
            }
            let low = from > window ? from - window + 1 : 1
            if from >= 1 && low > 1 {
                return AllPage(events: events, next: low - 1, scannedThrough: low)
            }
            return AllPage(events: events, next: nil, scannedThrough: 1)
        }
    }

    public func streamInfo(_ stream: String) async throws -> StreamInfo {
        try Naming.validateReadableStreamName(stream)
        let core = self.core
        return try await core.withConnection("read stream info") { connection in
            guard let (row, now) = try await Self.streamRow(stream, on: connection, core: core) else {
                return .unknown(stream)
            }
            var count = 0
            if row.exists {
                let visibility = StreamVisibility(lastRevision: row.lastRevision, deletedThrough: row.deletedThrough,
                                                  metadata: row.metadata, nowMicros: now)
                if let range = visibility.revisions(from: .start, direction: .forward) {
                    if visibility.notBeforeMicros == Int64.min {
                        // Revisions are contiguous: every one in range is stored.
                        count = Int(range.upperBound - range.lowerBound + 1)
                    } else {
                        let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.countStreamEvents, binds: try binds(
                            stream, Int64(range.lowerBound), Int64(range.upperBound), visibility.notBeforeMicros)), logger: core.logger)
                        count = Int(try rows[0].decode(Int64.self))
                    }
                }
            }
            return StreamInfo(stream: stream, lastRevision: row.lastRevision, deletedThrough: row.deletedThrough,
                              isTombstoned: row.tombstoned, metadata: row.metadata, eventCount: count)
        }
    }

    public func listStreamsPage(prefix: String, after: String?, maxCount: Int) async throws -> [String] {
        try core.checkOpen()
        // Stream names hold no U+0000, so such a prefix or bound matches nothing / bounds nothing.
        guard maxCount > 0, !prefix.utf8.contains(0) else { return [] }
        let core = self.core
        return try await core.withConnection("list streams") { connection in
            let query: PostgresQuery
            if let after, !after.utf8.contains(0) {
                query = PostgresQuery(unsafeSQL: core.sql.listStreamsAfter, binds: try binds(likePrefixPattern(prefix), Int64(maxCount), after))
            } else {
                query = PostgresQuery(unsafeSQL: core.sql.listStreams, binds: try binds(likePrefixPattern(prefix), Int64(maxCount)))
            }
            return try await connection.rows(query, logger: core.logger).map { try $0.decode(String.self) }
        }
    }

    /// A stream's row and the database's clock, or nil for a stream the store does not know.
    static func streamRow(_ stream: String, on connection: PostgresConnection, core: PostgresStoreCore) async throws -> (StreamRow, Int64)? {
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: core.sql.streamRow, binds: try binds(stream)), logger: core.logger)
        guard let row = rows.first else { return nil }
        let streamRow = try StreamRow.decode(row)
        let now = try row.decode((Int64, Int64, Bool, Int64?, Double?, Int64?, Data?, Int64).self).7
        return (streamRow, now)
    }
}
