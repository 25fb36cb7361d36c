import Foundation
import Strata
import Testing

/// Closing a store.
enum LifecycleChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("every operation after close throws storeClosed", operationsAfterClose),
        ConformanceCheck("closing the store ends a waiting subscription with storeClosed", closeEndsSubscriptions),
        ConformanceCheck("the store's identity is stable, and another store's differs", identity),
    ]

    static func identity(_ c: ConformanceContext) async throws {
        let first = try await c.store.identity()
        try await c.store.append(to: "s", events: samples(3))
        #expect(try await c.store.identity() == first, "the identity does not change with appends")
        #expect(!first.value.isEmpty)
        #expect(try await InMemoryEventStore().identity() != first, "another store's identity differs")
    }

    static func operationsAfterClose(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(2))
        try await store.close()
        await expectThrows(.storeClosed, "append") { try await store.append(to: "s", event: sample()) }
        await expectThrows(.storeClosed, "multi-stream append") { try await store.append([AppendRequest(stream: "t", events: [sample()])]) }
        await expectThrows(.storeClosed, "readStreamPage") { try await store.readStreamPage("s", from: .start, direction: .forward, maxCount: 10) }
        await expectThrows(.storeClosed, "readStream") { try await readStream(store, "s") }
        await expectThrows(.storeClosed, "readAllPage") {
            try await store.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 10)
        }
        await expectThrows(.storeClosed, "readAll") { try await readAll(store) }
        await expectThrows(.storeClosed, "streamInfo") { try await store.streamInfo("s") }
        await expectThrows(.storeClosed, "listStreamsPage") { try await store.listStreamsPage(prefix: "", after: nil, maxCount: 10) }
        await expectThrows(.storeClosed, "deleteStream") { try await store.deleteStream("s", expectedRevision: .any, mode: .soft) }
        await expectThrows(.storeClosed, "setStreamMetadata") { try await store.setStreamMetadata("s", StreamMetadata(maxCount: 1)) }
        await expectThrows(.storeClosed, "headPosition") { try await store.headPosition() }
        await expectThrows(.storeClosed, "stats") { try await store.stats() }
        await expectThrows(.storeClosed, "identity") { try await store.identity() }
        // Waiting for appends on a closed store must not hang: it returns or throws storeClosed.
        do {
            try await withDeadline("waitForAppends on a closed store") { try await store.waitForAppends(after: 100) }
        } catch let error as StrataError {
            #expect(error.kind == .storeClosed)
        }
        let probe = SubscriptionProbe.start(store.subscribeToAll())
        defer { probe.cancel() }
        #expect(try await probe.waitForEnd()?.kind == .storeClosed, "a subscription on a closed store")
    }

    static func closeEndsSubscriptions(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", event: sample())
        let all = SubscriptionProbe.start(store.subscribeToAll())
        let stream = SubscriptionProbe.start(store.subscribe(toStream: "s"))
        defer { all.cancel(); stream.cancel() }
        try await all.waitForCaughtUp()
        try await stream.waitForCaughtUp()
        try await store.close()
        #expect(try await all.waitForEnd()?.kind == .storeClosed, "$all subscription")
        #expect(try await stream.waitForEnd()?.kind == .storeClosed, "stream subscription")
    }
}
