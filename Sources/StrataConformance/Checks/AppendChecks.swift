import Foundation
import Strata
import Testing

/// Revisions, positions, recorded fields and expected revisions.
enum AppendChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("revisions are 1-based per stream and positions are 1-based and contiguous across streams", revisionsAndPositions),
        ConformanceCheck("a recorded event carries its id, stream, type, content type, data, metadata and a UTC microsecond time", recordedFields),
        ConformanceCheck("appending with .any succeeds whether or not the stream exists", expectedAny),
        ConformanceCheck("appending with .noStream succeeds on a new stream and fails on an existing one with the actual revision", expectedNoStream),
        ConformanceCheck("appending with .streamExists fails on a new stream with actual nil and succeeds on an existing one", expectedStreamExists),
        ConformanceCheck("appending with .exact(n) succeeds at the last revision and .exact(0) on a new stream", expectedExact),
        ConformanceCheck("appending with a stale expected revision fails and stores nothing", staleExpectedRevision),
        ConformanceCheck("a multi-event append is atomic: consecutive revisions and positions, or nothing", atomicMultiEvent),
        ConformanceCheck("headPosition and stats report the last position; an empty store reports 0", headAndStats),
    ]

    static func revisionsAndPositions(_ c: ConformanceContext) async throws {
        let store = c.store
        let r1 = try await store.append(to: "a", events: samples(2))
        let r2 = try await store.append(to: "b", events: samples(1))
        let r3 = try await store.append(to: "a", events: samples(3))
        #expect(r1 == AppendResult(stream: "a", firstRevision: 1, lastRevision: 2, firstPosition: 1, lastPosition: 2))
        #expect(r2 == AppendResult(stream: "b", firstRevision: 1, lastRevision: 1, firstPosition: 3, lastPosition: 3))
        #expect(r3 == AppendResult(stream: "a", firstRevision: 3, lastRevision: 5, firstPosition: 4, lastPosition: 6))
        let all = try await readAll(store)
        #expect(positions(all) == [1, 2, 3, 4, 5, 6])
        #expect(all.map(\.stream) == ["a", "a", "b", "a", "a", "a"])
        #expect(revisions(all) == [1, 2, 1, 3, 4, 5])
        let a = try await readStream(store, "a")
        #expect(revisions(a) == [1, 2, 3, 4, 5])
        #expect(positions(a) == [1, 2, 4, 5, 6])
        let info = try await store.streamInfo("a")
        #expect(info.exists && info.lastRevision == 5 && info.eventCount == 5 && !info.isDeleted && !info.isTombstoned)
        let missing = try await store.streamInfo("never")
        #expect(!missing.exists && missing.lastRevision == 0 && missing.eventCount == 0 && !missing.isDeleted && !missing.isTombstoned)
    }

    static func recordedFields(_ c: ConformanceContext) async throws {
        let store = c.store
        let json = EventData(type: "order-placed", json: #"{"total":42,"items":["a","b"]}"#, metadata: #"{"user":"ü-7","tags":["x"]}"#)
        let binary = EventData(type: "blob·ü", data: Data([0, 1, 2, 0xFF, 0xFE, 0x0A]), contentType: .binary)
        let custom = EventData(type: "csv-row", data: Data("a,b\n1,2".utf8), contentType: "text/csv", metadata: Data("{}".utf8))
        let before = currentMicroseconds()
        try await store.append(to: "fields", events: [json, binary, custom])
        let after = currentMicroseconds()
        let sent = [json, binary, custom]
        for (read, label) in [(try await readStream(store, "fields"), "stream read"), (try await readAll(store), "$all read")] {
            try #require(read.count == 3, "\(label)")
            for (event, original) in zip(read, sent) {
                #expect(event.id == original.id, "\(label)")
                #expect(event.stream == "fields", "\(label)")
                #expect(event.type == original.type, "\(label)")
                #expect(event.contentType == original.contentType, "\(label)")
                #expect(event.data == original.data, "\(label)")
                #expect(event.metadata == original.metadata, "\(label)")
                // UTC microseconds, taken during the append (a second of slack for coarse clocks).
                #expect(event.recordedAtMicroseconds >= before - 1_000_000 && event.recordedAtMicroseconds <= after + 1_000_000,
                        "\(label): recorded at \(event.recordedAtMicroseconds), append ran \(before)...\(after)")
            }
            #expect(read[0].tags == ["x"])
        }
    }

    static func expectedAny(_ c: ConformanceContext) async throws {
        let store = c.store
        #expect(try await store.append(to: "s", expectedRevision: .any, event: sample()).lastRevision == 1)
        #expect(try await store.append(to: "s", expectedRevision: .any, event: sample()).lastRevision == 2)
        #expect(try await readStream(store, "s").count == 2)
    }

    static func expectedNoStream(_ c: ConformanceContext) async throws {
        let store = c.store
        let r = try await store.append(to: "s", expectedRevision: .noStream, events: samples(2))
        #expect(r.firstRevision == 1 && r.lastRevision == 2)
        let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"]) {
            try await store.append(to: "s", expectedRevision: .noStream, event: sample())
        }
        #expect(error == .wrongExpectedRevision(stream: "s", expected: .noStream, actual: 2))
    }

    static func expectedStreamExists(_ c: ConformanceContext) async throws {
        let store = c.store
        let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"]) {
            try await store.append(to: "s", expectedRevision: .streamExists, event: sample())
        }
        #expect(error == .wrongExpectedRevision(stream: "s", expected: .streamExists, actual: nil))
        try await store.append(to: "s", event: sample())
        #expect(try await store.append(to: "s", expectedRevision: .streamExists, event: sample()).lastRevision == 2)
    }

    static func expectedExact(_ c: ConformanceContext) async throws {
        let store = c.store
        #expect(try await store.append(to: "s", expectedRevision: .exact(0), events: samples(2)).lastRevision == 2)
        #expect(try await store.append(to: "s", expectedRevision: .exact(2), event: sample()).lastRevision == 3)
        #expect(try await store.append(to: "s", expectedRevision: .exact(3), events: samples(2)).lastRevision == 5)
        #expect(revisions(try await readStream(store, "s")) == [1, 2, 3, 4, 5])
    }

    static func staleExpectedRevision(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        for expected in [ExpectedRevision.exact(2), .exact(0), .exact(4), .exact(99)] {
            let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"], "expected \(expected)") {
                try await store.append(to: "s", expectedRevision: expected, events: samples(2))
            }
            #expect(error == .wrongExpectedRevision(stream: "s", expected: expected, actual: 3))
        }
        let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["s", "new"]) {
            try await store.append(to: "new", expectedRevision: .exact(3), event: sample())
        }
        #expect(error == .wrongExpectedRevision(stream: "new", expected: .exact(3), actual: nil))
    }

    static func atomicMultiEvent(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "other", event: sample())
        let batch = samples(50)
        let r = try await store.append(to: "s", events: batch)
        #expect(r == AppendResult(stream: "s", firstRevision: 1, lastRevision: 50, firstPosition: 2, lastPosition: 51))
        let read = try await readStream(store, "s")
        #expect(read.map(\.id) == batch.map(\.id))
        #expect(positions(read) == Array(2...51))
        // A conflict or a bad event anywhere in the batch stores none of it.
        try await expectRejected(store, .wrongExpectedRevision, streams: ["s", "other"]) {
            try await store.append(to: "s", expectedRevision: .exact(49), events: samples(10))
        }
        try await expectRejected(store, .invalidEventType, streams: ["s", "other"]) {
            try await store.append(to: "s", events: samples(10) + [EventData(type: "", json: "{}")] + samples(10))
        }
        #expect(try await store.append(to: "s", event: sample()).firstPosition == 52)
    }

    static func headAndStats(_ c: ConformanceContext) async throws {
        let store = c.store
        #expect(try await store.headPosition() == 0)
        #expect(try await store.stats().headPosition == 0)
        try await store.append(to: "a", events: samples(4))
        try await store.append(to: "b", events: samples(3))
        #expect(try await store.headPosition() == 7)
        let stats = try await store.stats()
        #expect(stats.headPosition == 7)
        #expect(stats.firstPosition == 1)
        #expect(stats.streamCount == 2)
    }
}
