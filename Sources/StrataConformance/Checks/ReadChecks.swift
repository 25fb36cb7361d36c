import Foundation
import Strata
import Testing

/// Stream and `$all` reads: origins, directions, limits, filters, paging.
enum ReadChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("reading a stream forward and backward from start, end and a revision honours the limit", streamReads),
        ConformanceCheck("reading a stream that was never written throws streamNotFound", missingStream),
        ConformanceCheck("reading $all forward and backward from start, end and a position honours the limit", allReads),
        ConformanceCheck("reading $all with stream-prefix and event-type filters returns only matching events in order", filteredAllReads),
        ConformanceCheck("reads page through more than two pages and return every event once, in order", paging),
    ]

    /// Ten events in "s" (revisions 1…10) interleaved with events of "t": s1 t1 s2 s3 t2 s4 … .
    private static func interleaved(_ store: any EventStore) async throws {
        for i in 1...10 {
            try await store.append(to: "s", event: sample("s-event", i))
            if i % 3 == 1 { try await store.append(to: "t", event: sample("t-event", i)) }
        }
    }

    static func streamReads(_ c: ConformanceContext) async throws {
        let store = c.store
        try await interleaved(store)
        let cases: [(ReadOrigin, ReadDirection, Int?, [UInt64])] = [
            (.start, .forward, nil, Array(1...10)),
            (.start, .forward, 3, [1, 2, 3]),
            (.at(4), .forward, 3, [4, 5, 6]),
            (.at(8), .forward, nil, [8, 9, 10]),
            (.at(0), .forward, 2, [1, 2]),
            (.at(10), .forward, 5, [10]),
            (.at(11), .forward, nil, []),
            (.end, .forward, nil, []),
            (.end, .backward, nil, Array((1...10).reversed())),
            (.end, .backward, 2, [10, 9]),
            (.start, .backward, 3, [10, 9, 8]),
            (.at(5), .backward, 2, [5, 4]),
            (.at(3), .backward, nil, [3, 2, 1]),
            (.at(50), .backward, 1, [10]),
            (.at(0), .backward, nil, []),
            (.start, .forward, 0, []),
        ]
        for (origin, direction, limit, expected) in cases {
            let read = try await readStream(store, "s", from: origin, direction: direction, limit: limit)
            #expect(revisions(read) == expected, "stream read from \(origin) \(direction) limit \(limit.map(String.init) ?? "none")")
            #expect(read.allSatisfy { $0.stream == "s" && $0.type == "s-event" })
        }
        // Positions follow revisions in a stream read.
        let forward = try await readStream(store, "s")
        #expect(positions(forward) == positions(forward).sorted())
    }

    static func missingStream(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "present", event: sample())
        await expectThrows(.streamNotFound("absent")) { try await readStream(store, "absent") }
        await expectThrows(.streamNotFound("absent")) { try await readStream(store, "absent", from: .end, direction: .backward) }
        await expectThrows(.streamNotFound("absent")) {
            try await store.readStreamPage("absent", from: .start, direction: .forward, maxCount: 10)
        }
        // Metadata alone does not make a stream.
        try await store.setStreamMetadata("configured", StreamMetadata(maxCount: 5))
        await expectThrows(.streamNotFound("configured")) { try await readStream(store, "configured") }
        #expect(try await store.streamInfo("configured").exists == false)
    }

    static func allReads(_ c: ConformanceContext) async throws {
        let store = c.store
        try await interleaved(store)
        let head = try await store.headPosition()
        #expect(head == 14)
        let cases: [(ReadOrigin, ReadDirection, Int?, [UInt64])] = [
            (.start, .forward, nil, Array(1...14)),
            (.start, .forward, 5, [1, 2, 3, 4, 5]),
            (.at(4), .forward, 3, [4, 5, 6]),
            (.at(0), .forward, 2, [1, 2]),
            (.at(14), .forward, nil, [14]),
            (.at(15), .forward, nil, []),
            (.end, .forward, nil, []),
            (.end, .backward, nil, Array((1...14).reversed())),
            (.end, .backward, 3, [14, 13, 12]),
            (.start, .backward, 1, [14]),
            (.at(5), .backward, 2, [5, 4]),
            (.at(2), .backward, nil, [2, 1]),
            (.at(99), .backward, 2, [14, 13]),
            (.end, .backward, 0, []),
        ]
        for (origin, direction, limit, expected) in cases {
            let read = try await readAll(store, from: origin, direction: direction, limit: limit)
            #expect(positions(read) == expected, "$all read from \(origin) \(direction) limit \(limit.map(String.init) ?? "none")")
        }
    }

    static func filteredAllReads(_ c: ConformanceContext) async throws {
        let store = c.store
        let layout: [(String, String)] = [
            ("order-1", "placed"), ("cart-1", "added"), ("order-2", "placed"), ("order-1", "shipped"),
            ("orders", "placed"), ("cart-1", "removed"), ("user-1", "registered"), ("order-2", "shipped"),
        ]
        for (stream, type) in layout { try await store.append(to: stream, event: sample(type)) }
        func expected(_ filter: EventFilter) -> [UInt64] {
            // Any prefix and any type, both when both are given; written out rather than asking EventFilter.
            layout.enumerated().filter { _, event in
                (filter.streamPrefixes.isEmpty || filter.streamPrefixes.contains { event.0.hasPrefix($0) })
                    && (filter.eventTypes.isEmpty || filter.eventTypes.contains(event.1))
            }.map { UInt64($0.offset + 1) }
        }
        let filters = [
            EventFilter(streamPrefixes: ["order-"]),
            EventFilter(streamPrefixes: ["order"]),
            EventFilter(streamPrefixes: ["order-", "cart-"]),
            EventFilter(eventTypes: ["placed"]),
            EventFilter(eventTypes: ["placed", "removed"]),
            EventFilter(streamPrefixes: ["order-"], eventTypes: ["shipped"]),
            EventFilter(streamPrefixes: ["nothing-"]),
            EventFilter(eventTypes: ["never"]),
            EventFilter(),
        ]
        for filter in filters {
            let want = expected(filter)
            #expect(positions(try await readAll(store, filter: filter)) == want, "forward \(filter)")
            #expect(positions(try await readAll(store, from: .end, direction: .backward, filter: filter)) == want.reversed(), "backward \(filter)")
            #expect(positions(try await readAll(store, filter: filter, limit: 2)) == Array(want.prefix(2)), "forward limit 2 \(filter)")
            #expect(positions(try await readAll(store, from: .end, direction: .backward, filter: filter, limit: 2)) == Array(want.reversed().prefix(2)),
                    "backward limit 2 \(filter)")
            #expect(positions(try await readAll(store, from: .at(4), filter: filter)) == want.filter { $0 >= 4 }, "forward from 4 \(filter)")
            #expect(positions(try await readAll(store, from: .at(4), direction: .backward, filter: filter)) == want.filter { $0 <= 4 }.reversed(),
                    "backward from 4 \(filter)")
        }
        let prefixed = try await readAll(store, filter: EventFilter(streamPrefixes: ["order-"], eventTypes: ["placed"]))
        #expect(prefixed.allSatisfy { $0.stream.hasPrefix("order-") && $0.type == "placed" })
    }

    static func paging(_ c: ConformanceContext) async throws {
        let store = c.store
        let count = 2 * EventSequence.pageSize + 500
        var written = 0
        var otherPositions: [UInt64] = []
        while written < count {
            let batch = min(100, count - written)
            try await store.append(to: "big", events: samples(batch, type: "big-event", from: written + 1))
            written += batch
            if written % 700 == 0 { otherPositions.append(try await store.append(to: "other", event: sample()).lastPosition) }
        }
        let head = try await store.headPosition()
        #expect(head == UInt64(count + otherPositions.count))

        let forward = try await readStream(store, "big")
        #expect(revisions(forward) == Array(1...UInt64(count)))
        #expect(forward.map(\.data) == samples(count, from: 1).map(\.data))
        let backward = try await readStream(store, "big", from: .end, direction: .backward)
        #expect(revisions(backward) == Array((1...UInt64(count)).reversed()))
        let limited = try await readStream(store, "big", from: .at(10), limit: EventSequence.pageSize * 2 + 1)
        #expect(revisions(limited) == Array(10...UInt64(10 + EventSequence.pageSize * 2)))

        #expect(positions(try await readAll(store)) == Array(1...head))
        #expect(positions(try await readAll(store, from: .end, direction: .backward)) == Array((1...head).reversed()))
        let bigOnly = try await readAll(store, filter: EventFilter(streamPrefixes: ["big"]))
        #expect(bigOnly.count == count && bigOnly.allSatisfy { $0.stream == "big" })
        #expect(positions(bigOnly) == positions(bigOnly).sorted())
        let otherOnly = try await readAll(store, from: .end, direction: .backward, filter: EventFilter(streamPrefixes: ["other"]))
        #expect(positions(otherOnly) == otherPositions.reversed())
    }
}
