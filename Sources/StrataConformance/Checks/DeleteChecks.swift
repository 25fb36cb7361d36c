import Foundation
import Strata
import Testing

/// Soft deletes and tombstones. Deletes apply to stream reads, subscriptions and info; `$all`
/// keeps every event.
enum DeleteChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("a soft-deleted stream reads as not found, its info says deleted, and $all keeps its events", softDelete),
        ConformanceCheck("appending to a soft-deleted stream continues its revisions and reads show only the new events", recreate),
        ConformanceCheck("after a soft delete .noStream succeeds while .exact(last) and .streamExists fail with actual nil", expectedAfterSoftDelete),
        ConformanceCheck("soft-deleting a missing or already deleted stream throws streamNotFound", softDeleteMissing),
        ConformanceCheck("deleting with a wrong expected revision fails and deletes nothing", deleteExpectedRevision),
        ConformanceCheck("a tombstoned stream cannot be read, appended to or deleted again, and its info says tombstoned", tombstone),
        ConformanceCheck("a stream that was never written can be tombstoned and then never written", tombstoneNeverWritten),
    ]

    static func softDelete(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        try await store.append(to: "t", event: sample())
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        await expectThrows(.streamNotFound("s")) { try await readStream(store, "s") }
        await expectThrows(.streamNotFound("s")) { try await readStream(store, "s", from: .end, direction: .backward) }
        let info = try await store.streamInfo("s")
        #expect(!info.exists && info.isDeleted && !info.isTombstoned)
        #expect(info.lastRevision == 3 && info.eventCount == 0)
        #expect(try await store.listStreams().collect() == ["t"])
        #expect(try await readAll(store).map(\.stream) == ["s", "s", "s", "t"])
        #expect(try await store.headPosition() == 4)
    }

    static func recreate(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        try await store.deleteStream("s", expectedRevision: .exact(3), mode: .soft)
        let new = samples(2, from: 10)
        let r = try await store.append(to: "s", expectedRevision: .any, events: new)
        #expect(r == AppendResult(stream: "s", firstRevision: 4, lastRevision: 5, firstPosition: 4, lastPosition: 5))
        let read = try await readStream(store, "s")
        #expect(revisions(read) == [4, 5])
        #expect(read.map(\.id) == new.map(\.id))
        #expect(revisions(try await readStream(store, "s", from: .end, direction: .backward)) == [5, 4])
        #expect(revisions(try await readStream(store, "s", from: .at(1))) == [4, 5])
        let info = try await store.streamInfo("s")
        #expect(info.exists && !info.isDeleted && info.lastRevision == 5 && info.eventCount == 2)
        #expect(try await store.listStreams().collect() == ["s"])
        #expect(try await store.append(to: "s", expectedRevision: .exact(5), event: sample()).lastRevision == 6)
        // Deleted again: the next life starts after 6.
        try await store.deleteStream("s", expectedRevision: .streamExists, mode: .soft)
        #expect(try await store.append(to: "s", event: sample()).firstRevision == 7)
        #expect(revisions(try await readStream(store, "s")) == [7])
    }

    static func expectedAfterSoftDelete(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        let exact = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"]) {
            try await store.append(to: "s", expectedRevision: .exact(3), event: sample())
        }
        #expect(exact == .wrongExpectedRevision(stream: "s", expected: .exact(3), actual: nil))
        let exists = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"]) {
            try await store.append(to: "s", expectedRevision: .streamExists, event: sample())
        }
        #expect(exists == .wrongExpectedRevision(stream: "s", expected: .streamExists, actual: nil))
        #expect(try await store.append(to: "s", expectedRevision: .noStream, event: sample()).lastRevision == 4)
        #expect(try await store.append(to: "s", expectedRevision: .exact(4), event: sample()).lastRevision == 5)
        // And .exact(0) is .noStream.
        try await store.deleteStream("s", expectedRevision: .exact(5), mode: .soft)
        #expect(try await store.append(to: "s", expectedRevision: .exact(0), event: sample()).lastRevision == 6)
    }

    static func softDeleteMissing(_ c: ConformanceContext) async throws {
        let store = c.store
        await expectThrows(.streamNotFound("never")) {
            try await store.deleteStream("never", expectedRevision: .any, mode: .soft)
        }
        try await store.append(to: "s", event: sample())
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        try await expectRejected(store, .streamNotFound, streams: ["s", "never"]) {
            try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        }
        await expectThrows(.invalidStreamName, "$all") { try await store.deleteStream("$all", expectedRevision: .any, mode: .soft) }
    }

    static func deleteExpectedRevision(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        for expected in [ExpectedRevision.exact(2), .noStream, .exact(4)] {
            for mode in [DeleteMode.soft, .tombstone] {
                let error = try await expectRejected(store, .wrongExpectedRevision, streams: ["s"], "\(mode) expecting \(expected)") {
                    try await store.deleteStream("s", expectedRevision: expected, mode: mode)
                }
                #expect(error == .wrongExpectedRevision(stream: "s", expected: expected, actual: 3))
            }
        }
        #expect(try await readStream(store, "s").count == 3)
    }

    static func tombstone(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        try await store.append(to: "t", event: sample())
        try await store.deleteStream("s", expectedRevision: .exact(3), mode: .tombstone)
        await expectThrows(.streamTombstoned("s")) { try await readStream(store, "s") }
        await expectThrows(.streamTombstoned("s")) { try await readStream(store, "s", from: .end, direction: .backward) }
        for expected in [ExpectedRevision.any, .noStream, .streamExists, .exact(3)] {
            let error = try await expectRejected(store, .streamTombstoned, streams: ["s", "t"], "append expecting \(expected)") {
                try await store.append(to: "s", expectedRevision: expected, event: sample())
            }
            #expect(error == .streamTombstoned("s"))
        }
        await expectThrows(.streamTombstoned("s")) { try await store.deleteStream("s", expectedRevision: .any, mode: .soft) }
        await expectThrows(.streamTombstoned("s")) { try await store.deleteStream("s", expectedRevision: .any, mode: .tombstone) }
        await expectThrows(.streamTombstoned("s")) { try await store.setStreamMetadata("s", StreamMetadata(maxCount: 1)) }
        let info = try await store.streamInfo("s")
        #expect(info.isTombstoned && !info.exists && !info.isDeleted && info.eventCount == 0)
        #expect(try await store.listStreams().collect() == ["t"])
        #expect(try await readAll(store).map(\.stream) == ["s", "s", "s", "t"])
    }

    static func tombstoneNeverWritten(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.deleteStream("reserved-name", expectedRevision: .noStream, mode: .tombstone)
        #expect(try await store.streamInfo("reserved-name").isTombstoned)
        try await expectRejected(store, .streamTombstoned, streams: ["reserved-name"]) {
            try await store.append(to: "reserved-name", expectedRevision: .noStream, event: sample())
        }
        await expectThrows(.streamTombstoned("reserved-name")) { try await readStream(store, "reserved-name") }
        #expect(try await store.headPosition() == 0)
        #expect(try await store.listStreams().collect() == [])
    }
}
