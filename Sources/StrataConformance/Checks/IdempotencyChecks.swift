import Foundation
import Strata
import Testing

/// Appending again events whose ids were already appended at that place returns the original
/// result and stores nothing; any other reuse of an id is an error.
enum IdempotencyChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("re-appending the same events with .any returns the original result and stores nothing", retryAny),
        ConformanceCheck("re-appending the same events with .noStream or .exact returns the original result and stores nothing", retryExact),
        ConformanceCheck("re-appending a consecutive run of stored events returns where they are and stores nothing", retrySubrange),
        ConformanceCheck("reusing stored ids together with new ones fails with eventIdReused and stores nothing", partialReuse),
        ConformanceCheck("reusing an id in another stream fails with eventIdReused and stores nothing", reuseInOtherStream),
        ConformanceCheck("re-appending stored events at another place or in another order fails with eventIdReused", reuseElsewhere),
        ConformanceCheck("retrying a .noStream append that recreated a soft-deleted stream returns the original result", retryAfterSoftDelete),
        ConformanceCheck("retrying an .exact(0) append that recreated a soft-deleted stream returns the original result", retryExactZeroAfterSoftDelete),
        ConformanceCheck("retrying an append into a stream tombstoned since fails with streamTombstoned", retryAfterTombstone),
    ]

    static func retryAny(_ c: ConformanceContext) async throws {
        let store = c.store
        let events = samples(3)
        let original = try await store.append(to: "s", events: events)
        try await store.append(to: "other", event: sample())
        let before = try await snapshot(store, streams: ["s", "other"])
        #expect(try await store.append(to: "s", expectedRevision: .any, events: events) == original)
        #expect(try await store.append(to: "s", expectedRevision: .streamExists, events: events) == original)
        #expect(try await snapshot(store, streams: ["s", "other"]) == before)
        #expect(try await readStream(store, "s").map(\.id) == events.map(\.id))
    }

    static func retryExact(_ c: ConformanceContext) async throws {
        let store = c.store
        let first = samples(2), second = samples(2)
        let r1 = try await store.append(to: "s", expectedRevision: .noStream, events: first)
        let r2 = try await store.append(to: "s", expectedRevision: .exact(2), events: second)
        try await store.append(to: "s", events: samples(1))
        let before = try await snapshot(store, streams: ["s"])
        #expect(try await store.append(to: "s", expectedRevision: .noStream, events: first) == r1)
        #expect(try await store.append(to: "s", expectedRevision: .exact(0), events: first) == r1)
        #expect(try await store.append(to: "s", expectedRevision: .exact(2), events: second) == r2)
        #expect(try await snapshot(store, streams: ["s"]) == before)
    }

    static func retrySubrange(_ c: ConformanceContext) async throws {
        let store = c.store
        let events = samples(4)
        try await store.append(to: "s", events: Array(events[0..<2]))
        try await store.append(to: "s", events: Array(events[2..<4]))
        let before = try await snapshot(store, streams: ["s"])
        // Events 2 and 3 came from two appends but sit next to each other: a retry of that run is idempotent.
        #expect(try await store.append(to: "s", events: Array(events[1..<3]))
                == AppendResult(stream: "s", firstRevision: 2, lastRevision: 3, firstPosition: 2, lastPosition: 3))
        #expect(try await store.append(to: "s", events: [events[3]])
                == AppendResult(stream: "s", firstRevision: 4, lastRevision: 4, firstPosition: 4, lastPosition: 4))
        #expect(try await snapshot(store, streams: ["s"]) == before)
    }

    static func partialReuse(_ c: ConformanceContext) async throws {
        let store = c.store
        let old = samples(2)
        try await store.append(to: "s", events: old)
        let fresh = sample()
        for (events, label) in [([old[1], fresh], "an old id then a new one"), ([fresh, old[0]], "a new id then an old one"),
                                (old + [fresh], "the whole old append plus a new event")] {
            let error = try await expectRejected(store, .eventIdReused, streams: ["s"], label) {
                try await store.append(to: "s", events: events)
            }
            let reused = events.first { $0.id != fresh.id }!
            #expect(error == .eventIdReused(id: reused.id.uuidString, stream: "s"), "\(label)")
        }
        // The new event was not stored: it can still be appended.
        #expect(try await store.append(to: "s", event: fresh).lastRevision == 3)
    }

    static func reuseInOtherStream(_ c: ConformanceContext) async throws {
        let store = c.store
        let event = sample()
        try await store.append(to: "s", event: event)
        let error = try await expectRejected(store, .eventIdReused, streams: ["s", "t"]) {
            try await store.append(to: "t", event: event)
        }
        #expect(error == .eventIdReused(id: event.id.uuidString, stream: "s"))
        // In a multi-stream append too, whichever request carries it.
        try await expectRejected(store, .eventIdReused, streams: ["s", "t", "u"]) {
            try await store.append([AppendRequest(stream: "t", events: [sample()]), AppendRequest(stream: "u", events: [event])])
        }
    }

    static func reuseElsewhere(_ c: ConformanceContext) async throws {
        let store = c.store
        let events = samples(2)
        try await store.append(to: "s", events: events)
        try await store.append(to: "s", events: samples(1))
        let wrongPlace = try await expectRejected(store, .eventIdReused, streams: ["s"], "expected revision naming another place") {
            try await store.append(to: "s", expectedRevision: .exact(3), events: events)
        }
        #expect(wrongPlace == .eventIdReused(id: events[0].id.uuidString, stream: "s"))
        let reordered = try await expectRejected(store, .eventIdReused, streams: ["s"], "the same ids in another order") {
            try await store.append(to: "s", events: events.reversed())
        }
        #expect(reordered == .eventIdReused(id: events[1].id.uuidString, stream: "s"))
    }

    static func retryAfterSoftDelete(_ c: ConformanceContext) async throws {
        try await retryRecreation(c.store, expecting: .noStream)
    }

    static func retryExactZeroAfterSoftDelete(_ c: ConformanceContext) async throws {
        try await retryRecreation(c.store, expecting: .exact(0))
    }

    /// Soft-deletes a stream, recreates it with `expected` (which means "no stream"), and retries that append.
    private static func retryRecreation(_ store: any EventStore, expecting expected: ExpectedRevision,
                                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await store.append(to: "s", events: samples(2))
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        let events = samples(2)
        let original = try await store.append(to: "s", expectedRevision: expected, events: events)
        #expect(original.firstRevision == 3, sourceLocation: sourceLocation)
        let before = try await snapshot(store, streams: ["s"])
        do {
            #expect(try await store.append(to: "s", expectedRevision: expected, events: events) == original, sourceLocation: sourceLocation)
        } catch {
            Issue.record("retrying the same append with expected revision \(expected) threw \(error)", sourceLocation: sourceLocation)
        }
        #expect(try await snapshot(store, streams: ["s"]) == before, sourceLocation: sourceLocation)
    }

    static func retryAfterTombstone(_ c: ConformanceContext) async throws {
        let store = c.store
        let events = [sample("a"), sample("b")]
        try await store.append(to: "gone", expectedRevision: .noStream, events: events)
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        let head = try await store.headPosition()
        await expectThrows(.streamTombstoned, "a retry after the tombstone") {
            try await store.append(to: "gone", expectedRevision: .noStream, events: events)
        }
        #expect(try await store.headPosition() == head)
    }
}
