import Foundation
import Strata
import Testing

/// Catch-up subscriptions: catch up, say so once, go live; no gap or duplicate at the
/// hand-over; checkpoints for filtered `$all`; back-pressure; cancellation.
enum SubscriptionChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("a $all subscription from the start catches up, sends caughtUp once, then delivers live events", allFromStart),
        ConformanceCheck("a $all subscription from the end delivers only events appended after it caught up", allFromEnd),
        ConformanceCheck("a $all subscription after a position delivers the events after it, then live ones", allAfter),
        ConformanceCheck("a stream subscription catches up from the start, after a revision or from the end, then goes live", stream),
        ConformanceCheck("a stream subscription waits for a stream that does not exist yet", streamNotYetWritten),
        ConformanceCheck("a stream subscription follows a soft-deleted stream to its new events", streamAcrossSoftDelete),
        ConformanceCheck("a stream subscription to a tombstoned stream fails with streamTombstoned", streamTombstoned),
        ConformanceCheck("a filtered $all subscription reports checkpoints while it skips events", filteredCheckpoints),
        ConformanceCheck("catch-up hands over to live with no gap and no duplicate while appends continue", handOver),
        ConformanceCheck("a subscription reads no further ahead than its consumer asks (back-pressure)", backPressure),
        ConformanceCheck("cancelling the task of a live subscription ends it promptly", cancellation),
    ]

    /// Messages as short strings: `p3` an `$all` event at position 3, `r3` a stream event at
    /// revision 3, `checkpoint 3`, `caughtUp 3`.
    private static func describe(_ messages: [SubscriptionMessage], stream: Bool = false, checkpoints: Bool = false) -> [String] {
        messages.compactMap { message in
            switch message {
            case .event(let e): stream ? "r\(e.revision)" : "p\(e.position)"
            case .checkpoint(let p): checkpoints ? "checkpoint \(p)" : nil
            case .caughtUp(let p): "caughtUp \(p)"
            }
        }
    }

    static func allFromStart(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "a", events: samples(2))
        try await store.append(to: "b", event: sample())
        let probe = SubscriptionProbe.start(store.subscribeToAll(from: .start))
        defer { probe.cancel() }
        try await probe.waitForCaughtUp()
        #expect(describe(probe.messages) == ["p1", "p2", "p3", "caughtUp 3"])
        try await store.append(to: "c", events: samples(2))
        try await store.append(to: "a", event: sample())
        try await probe.waitForEvents(6)
        #expect(describe(probe.messages) == ["p1", "p2", "p3", "caughtUp 3", "p4", "p5", "p6"])
        #expect(probe.events.map(\.stream) == ["a", "a", "b", "c", "c", "a"])
    }

    static func allFromEnd(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "a", events: samples(3))
        let probe = SubscriptionProbe.start(store.subscribeToAll(from: .end))
        defer { probe.cancel() }
        #expect(try await probe.waitForCaughtUp() == 3)
        try await store.append(to: "b", events: samples(2))
        try await probe.waitForEvents(2)
        #expect(describe(probe.messages) == ["caughtUp 3", "p4", "p5"])
    }

    static func allAfter(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "a", events: samples(5))
        let after2 = SubscriptionProbe.start(store.subscribeToAll(from: .after(2)))
        let after0 = SubscriptionProbe.start(store.subscribeToAll(from: .after(0)))
        let afterHead = SubscriptionProbe.start(store.subscribeToAll(from: .after(5)))
        defer { after2.cancel(); after0.cancel(); afterHead.cancel() }
        for probe in [after2, after0, afterHead] { try await probe.waitForCaughtUp() }
        try await store.append(to: "b", event: sample())
        for probe in [after2, after0, afterHead] { try await probe.waitForEvents(probe === afterHead ? 1 : probe === after2 ? 4 : 6) }
        #expect(describe(after2.messages) == ["p3", "p4", "p5", "caughtUp 5", "p6"])
        #expect(describe(after0.messages) == ["p1", "p2", "p3", "p4", "p5", "caughtUp 5", "p6"])
        #expect(describe(afterHead.messages) == ["caughtUp 5", "p6"])
    }

    static func stream(_ c: ConformanceContext) async throws {
        let store = c.store
        for i in 1...3 {
            try await store.append(to: "s", event: sample("s-event", i))
            try await store.append(to: "t", event: sample())
        }
        let fromStart = SubscriptionProbe.start(store.subscribe(toStream: "s", from: .start))
        let after2 = SubscriptionProbe.start(store.subscribe(toStream: "s", from: .after(2)))
        let fromEnd = SubscriptionProbe.start(store.subscribe(toStream: "s", from: .end))
        defer { fromStart.cancel(); after2.cancel(); fromEnd.cancel() }
        for probe in [fromStart, after2, fromEnd] { #expect(try await probe.waitForCaughtUp() == 3) }
        try await store.append(to: "t", events: samples(2))
        try await store.append(to: "s", events: samples(2))
        try await fromStart.waitForEvents(5)
        try await after2.waitForEvents(3)
        try await fromEnd.waitForEvents(2)
        #expect(describe(fromStart.messages, stream: true) == ["r1", "r2", "r3", "caughtUp 3", "r4", "r5"])
        #expect(describe(after2.messages, stream: true) == ["r3", "caughtUp 3", "r4", "r5"])
        #expect(describe(fromEnd.messages, stream: true) == ["caughtUp 3", "r4", "r5"])
        #expect(fromStart.events.allSatisfy { $0.stream == "s" })
        #expect(positions(fromStart.events) == [1, 3, 5, 9, 10])
    }

    static func streamNotYetWritten(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "other", event: sample())
        let probe = SubscriptionProbe.start(store.subscribe(toStream: "later"))
        defer { probe.cancel() }
        #expect(try await probe.waitForCaughtUp() == 0)
        try await store.append(to: "other", events: samples(3))
        try await store.append(to: "later", events: samples(2))
        try await probe.waitForEvents(2)
        #expect(describe(probe.messages, stream: true) == ["caughtUp 0", "r1", "r2"])
        #expect(positions(probe.events) == [5, 6])
    }

    static func streamAcrossSoftDelete(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        let probe = SubscriptionProbe.start(store.subscribe(toStream: "s"))
        defer { probe.cancel() }
        try await probe.waitForCaughtUp()
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        try await store.append(to: "s", event: sample())
        try await probe.waitForEvents(4)
        #expect(describe(probe.messages, stream: true) == ["r1", "r2", "r3", "caughtUp 3", "r4"])
        // A new subscription from the start sees only the new life.
        let late = SubscriptionProbe.start(store.subscribe(toStream: "s"))
        defer { late.cancel() }
        try await late.waitForCaughtUp()
        #expect(describe(late.messages, stream: true) == ["r4", "caughtUp 4"])
    }

    static func streamTombstoned(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(2))
        try await store.deleteStream("s", expectedRevision: .any, mode: .tombstone)
        for start in [SubscriptionStart.start, .end, .after(1)] {
            let probe = SubscriptionProbe.start(store.subscribe(toStream: "s", from: start))
            defer { probe.cancel() }
            #expect(try await probe.waitForEnd() == .streamTombstoned("s"), "from \(start)")
            #expect(probe.events.isEmpty)
        }
    }

    static func filteredCheckpoints(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "noise-1", events: samples(5))
        let probe = SubscriptionProbe.start(store.subscribeToAll(from: .start, filter: EventFilter(streamPrefixes: ["match-"])))
        defer { probe.cancel() }
        func checkpointed(_ p: UInt64) -> ([SubscriptionMessage]) -> Bool {
            { $0.contains { if case .checkpoint(let at) = $0 { at >= p } else { false } } }
        }
        try await probe.waitUntil("a checkpoint at 5 while catching up", checkpointed(5))
        try await probe.waitForCaughtUp()
        try await store.append(to: "noise-2", events: samples(3, type: "match-type"))
        try await probe.waitUntil("a checkpoint at 8 while live", checkpointed(8))
        #expect(probe.events.isEmpty)
        try await store.append(to: "match-1", event: sample())
        try await store.append(to: "noise-1", event: sample())
        try await probe.waitForEvents(1)
        try await probe.waitUntil("a checkpoint at 10 after the match", checkpointed(10))
        #expect(positions(probe.events) == [9])
        // Every message's position follows the previous one: a checkpoint never passes an event
        // still to come, and an event never comes before a checkpoint that covered it.
        var last: UInt64 = 0
        for message in probe.messages {
            let at: UInt64
            switch message {
            case .event(let e): at = e.position; #expect(at > last, "event \(at) after \(last)")
            case .checkpoint(let p): at = p; #expect(at >= last, "checkpoint \(at) after \(last)")
            case .caughtUp(let p): at = p; #expect(at >= last, "caughtUp \(at) after \(last)")
            }
            last = at
        }
        #expect(probe.caughtUpCount == 1)
    }

    static func handOver(_ c: ConformanceContext) async throws {
        let store = c.store
        let total = 2_000
        let startAt = UInt64.random(in: 0...UInt64(total))
        let writer = Task {
            var written = 0, batchSize = 1
            while written < total {
                let n = min(batchSize, total - written)
                try await store.append(to: "w-\(written % 4)", events: samples(n, from: written))
                written += n
                batchSize = batchSize % 5 + 1
            }
        }
        defer { writer.cancel() }
        try await eventually("the writer to reach position \(startAt)") { try await store.headPosition() >= startAt }
        let all = SubscriptionProbe.start(store.subscribeToAll(from: .start))
        let stream = SubscriptionProbe.start(store.subscribe(toStream: "w-0"))
        defer { all.cancel(); stream.cancel() }
        try await withDeadline("the writer to finish") { try await writer.value }
        let events = try await all.waitForEvents(total)
        #expect(positions(events) == Array(1...UInt64(total)), "subscription started at head \(startAt)")
        #expect(all.caughtUpCount == 1)
        let expected = try await readStream(store, "w-0")
        let streamEvents = try await stream.waitForEvents(expected.count)
        #expect(revisions(streamEvents) == Array(1...UInt64(expected.count)), "stream subscription started at head \(startAt)")
        #expect(streamEvents.map(\.id) == expected.map(\.id))
        #expect(stream.caughtUpCount == 1)
    }

    static func backPressure(_ c: ConformanceContext) async throws {
        let counting = PageCountingStore(c.store)
        for batch in 0..<20 { try await counting.append(to: "bulk", events: samples(500, from: batch * 500)) }
        #expect(try await counting.headPosition() == 10_000)
        let (first, pagesAfterOne, pagesAfter601) = try await withDeadline("a subscription to deliver 601 messages") {
            var iterator = counting.subscribeToAll(from: .start).makeAsyncIterator()
            let first = try await iterator.next()
            let pagesAfterOne = counting.allPageReads
            for _ in 0..<600 { _ = try await iterator.next() }
            return (first, pagesAfterOne, counting.allPageReads)
        }
        #expect(first?.event?.position == 1)
        #expect(pagesAfterOne <= 2, "one message consumed, \(pagesAfterOne) $all pages read")
        #expect(pagesAfter601 <= 3, "601 messages consumed, \(pagesAfter601) $all pages read")
        let (streamFirst, streamPages) = try await withDeadline("a stream subscription to deliver a message") {
            var iterator = counting.subscribe(toStream: "bulk").makeAsyncIterator()
            let first = try await iterator.next()
            return (first, counting.streamPageReads)
        }
        #expect(streamFirst?.event?.revision == 1)
        #expect(streamPages <= 2, "one message consumed, \(streamPages) stream pages read")
    }

    static func cancellation(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", event: sample())
        let probes = [SubscriptionProbe.start(store.subscribeToAll(from: .start)),
                      SubscriptionProbe.start(store.subscribeToAll(from: .start, filter: EventFilter(eventTypes: ["x"]))),
                      SubscriptionProbe.start(store.subscribe(toStream: "s")),
                      SubscriptionProbe.start(store.subscribe(toStream: "never-written"))]
        for probe in probes { try await probe.waitForCaughtUp() }
        let cancelledAt = ContinuousClock.now
        for probe in probes {
            try await probe.cancelAndWait()
            #expect(try await probe.waitForEnd() == nil)
        }
        // Generous: tests share a small thread pool, and a loaded machine (the suite builds a
        // package and drives a browser meanwhile) can stall it for seconds. This catches a
        // subscription that ignores cancellation until an append or a timeout, not latency: such
        // a subscription never ends, and waitForEnd gives up after 60 s.
        #expect(ContinuousClock.now - cancelledAt < .seconds(30), "cancelled subscriptions took \(ContinuousClock.now - cancelledAt) to end")
    }
}
