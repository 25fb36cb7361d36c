import Foundation
import Strata
import Testing

/// Several streams in one atomic append.
enum MultiStreamChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("a multi-stream append stores every stream's events with contiguous positions in request order", contiguous),
        ConformanceCheck("a multi-stream append with one wrong expected revision stores nothing", oneConflict),
        ConformanceCheck("a multi-stream append touching a tombstoned stream fails with streamTombstoned and stores nothing", oneTombstoned),
        ConformanceCheck("retrying a multi-stream append returns the original results and stores nothing", retry),
    ]

    static func contiguous(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "b", event: sample())
        let results = try await store.append([
            AppendRequest(stream: "a", expectedRevision: .noStream, events: samples(2)),
            AppendRequest(stream: "b", expectedRevision: .exact(1), events: samples(3)),
            AppendRequest(stream: "c", expectedRevision: .any, events: samples(1)),
        ])
        #expect(results == [
            AppendResult(stream: "a", firstRevision: 1, lastRevision: 2, firstPosition: 2, lastPosition: 3),
            AppendResult(stream: "b", firstRevision: 2, lastRevision: 4, firstPosition: 4, lastPosition: 6),
            AppendResult(stream: "c", firstRevision: 1, lastRevision: 1, firstPosition: 7, lastPosition: 7),
        ])
        let all = try await readAll(store)
        #expect(positions(all) == Array(1...7))
        #expect(all.map(\.stream) == ["b", "a", "a", "b", "b", "b", "c"])
    }

    static func oneConflict(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "a", event: sample())
        let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["a", "b", "c"]) {
            try await store.append([
                AppendRequest(stream: "a", expectedRevision: .exact(1), events: samples(2)),
                AppendRequest(stream: "b", expectedRevision: .noStream, events: samples(2)),
                AppendRequest(stream: "c", expectedRevision: .exact(5), events: samples(2)),
            ])
        }
        #expect(error == .wrongExpectedRevision(stream: "c", expected: .exact(5), actual: nil))
    }

    static func oneTombstoned(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        let error = try await expectRejected(store, .streamTombstoned, streams: ["a", "gone"]) {
            try await store.append([AppendRequest(stream: "a", events: samples(2)), AppendRequest(stream: "gone", events: samples(1))])
        }
        #expect(error == .streamTombstoned("gone"))
    }

    static func retry(_ c: ConformanceContext) async throws {
        let store = c.store
        let requests = [AppendRequest(stream: "a", expectedRevision: .noStream, events: samples(2)),
                        AppendRequest(stream: "b", expectedRevision: .noStream, events: samples(1))]
        let original = try await store.append(requests)
        try await store.append(to: "a", event: sample())
        let before = try await snapshot(store, streams: ["a", "b"])
        #expect(try await store.append(requests) == original)
        #expect(try await snapshot(store, streams: ["a", "b"]) == before)
        // Half a retry with a new stream is a reuse, not a retry.
        try await expectRejected(store, .eventIdReused, streams: ["a", "b", "c"]) {
            try await store.append([requests[0], AppendRequest(stream: "c", events: samples(1))])
        }
    }
}
