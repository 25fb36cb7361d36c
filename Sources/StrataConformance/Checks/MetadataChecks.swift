import Foundation
import Strata
import Testing

/// Stream metadata: `maxCount`, `truncateBefore` and `maxAge` hide events from stream reads and
/// from `streamInfo.eventCount`, never from `$all`.
enum MetadataChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("maxCount hides all but the newest events from stream reads and info, not from $all", maxCount),
        ConformanceCheck("truncateBefore hides earlier revisions from stream reads and info, not from $all", truncateBefore),
        ConformanceCheck("maxCount and truncateBefore together hide the union of what each hides", combined),
        ConformanceCheck("maxAge hides events older than the age from stream reads and info, not from $all", maxAge),
        ConformanceCheck("stream metadata round-trips through streamInfo and applies to a stream written later", roundTrip),
        ConformanceCheck("invalid stream metadata fails with invalidArgument and changes nothing", invalidMetadata),
    ]

    /// Stream "s" with revisions 1…5 at positions 2, 4, 6, 8, 10 (interleaved with "t").
    private static func fiveEvents(_ store: any EventStore) async throws {
        for i in 1...5 {
            try await store.append(to: "t", event: sample())
            try await store.append(to: "s", event: sample("s-event", i))
        }
    }

    private static func expectVisible(_ store: any EventStore, _ expected: [UInt64], _ what: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(revisions(try await readStream(store, "s")) == expected, "\(what): forward", sourceLocation: sourceLocation)
        #expect(revisions(try await readStream(store, "s", from: .end, direction: .backward)) == expected.reversed(),
                "\(what): backward", sourceLocation: sourceLocation)
        #expect(revisions(try await readStream(store, "s", from: .at(1), limit: 2)) == Array(expected.prefix(2)),
                "\(what): forward from 1, limit 2", sourceLocation: sourceLocation)
        let info = try await store.streamInfo("s")
        #expect(info.eventCount == expected.count, "\(what): info.eventCount", sourceLocation: sourceLocation)
        #expect(info.exists && info.lastRevision == 5, "\(what): info", sourceLocation: sourceLocation)
        #expect(try await readAll(store).count == 10, "\(what): $all keeps every event", sourceLocation: sourceLocation)
    }

    static func maxCount(_ c: ConformanceContext) async throws {
        let store = c.store
        try await fiveEvents(store)
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 2))
        try await expectVisible(store, [4, 5], "maxCount 2")
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 9))
        try await expectVisible(store, [1, 2, 3, 4, 5], "maxCount 9")
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 0))
        try await expectVisible(store, [], "maxCount 0")
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 2))
        try await store.append(to: "s", events: samples(2))
        #expect(revisions(try await readStream(store, "s")) == [6, 7], "maxCount 2 after two more appends")
        try await store.setStreamMetadata("s", StreamMetadata())
        #expect(revisions(try await readStream(store, "s")) == Array(1...7), "metadata cleared")
    }

    static func truncateBefore(_ c: ConformanceContext) async throws {
        let store = c.store
        try await fiveEvents(store)
        try await store.setStreamMetadata("s", StreamMetadata(truncateBefore: 3))
        try await expectVisible(store, [3, 4, 5], "truncateBefore 3")
        try await store.setStreamMetadata("s", StreamMetadata(truncateBefore: 0))
        try await expectVisible(store, [1, 2, 3, 4, 5], "truncateBefore 0")
        try await store.setStreamMetadata("s", StreamMetadata(truncateBefore: 6))
        try await expectVisible(store, [], "truncateBefore 6")
        try await store.append(to: "s", event: sample())
        #expect(revisions(try await readStream(store, "s")) == [6], "truncateBefore 6 after an append")
    }

    static func combined(_ c: ConformanceContext) async throws {
        let store = c.store
        try await fiveEvents(store)
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 4, truncateBefore: 3))
        try await expectVisible(store, [3, 4, 5], "maxCount 4, truncateBefore 3")
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 2, truncateBefore: 2))
        try await expectVisible(store, [4, 5], "maxCount 2, truncateBefore 2")
        // Metadata and soft delete: the deleted revisions stay hidden whatever the metadata says.
        try await store.deleteStream("s", expectedRevision: .any, mode: .soft)
        try await store.append(to: "s", events: samples(3))
        #expect(revisions(try await readStream(store, "s")) == [7, 8])
        try await store.setStreamMetadata("s", StreamMetadata(maxCount: 10))
        #expect(revisions(try await readStream(store, "s")) == [6, 7, 8])
    }

    static func maxAge(_ c: ConformanceContext) async throws {
        let store = c.store
        try await fiveEvents(store)
        let age = 0.5
        try await store.setStreamMetadata("s", StreamMetadata(maxAge: age))
        // The events age past 0.5 s: wait (bounded) until the stream shows none of them.
        try await eventually("events older than \(age) s to be hidden") {
            let hidden = try await readStream(store, "s").isEmpty
            let counted = try await store.streamInfo("s").eventCount
            return hidden && counted == 0
        }
        #expect(try await readAll(store).count == 10)
        #expect(try await store.streamInfo("s").exists)
        // A fresh event is visible, as long as we look at it within the age.
        let appended = ContinuousClock.now
        try await store.append(to: "s", event: sample("fresh"))
        let read = try await readStream(store, "s")
        let count = try await store.streamInfo("s").eventCount
        if ContinuousClock.now - appended < .milliseconds(Int(age * 1000)) {
            #expect(revisions(read) == [6])
            #expect(count == 1)
        }
        try await store.setStreamMetadata("s", StreamMetadata())
        #expect(revisions(try await readStream(store, "s")) == Array(1...6))
        // maxAge 0 hides everything recorded before now.
        try await store.setStreamMetadata("s", StreamMetadata(maxAge: 0))
        try await eventually("maxAge 0 to hide every event") { try await readStream(store, "s").isEmpty }
    }

    static func roundTrip(_ c: ConformanceContext) async throws {
        let store = c.store
        let metadata = StreamMetadata(maxCount: 3, maxAge: 86_400, truncateBefore: 2, custom: Data(#"{"owner":"billing","n":[1,2]}"#.utf8))
        try await store.setStreamMetadata("later", metadata)
        let before = try await store.streamInfo("later")
        #expect(before.metadata == metadata)
        #expect(!before.exists && before.lastRevision == 0 && !before.isDeleted)
        let listed = try await store.listStreams().collect()
        #expect(listed == [])
        try await store.append(to: "later", events: samples(5))
        #expect(revisions(try await readStream(store, "later")) == [3, 4, 5])
        #expect(try await store.streamInfo("later").metadata == metadata)
        try await store.setStreamMetadata("later", StreamMetadata())
        #expect(try await store.streamInfo("later").metadata == StreamMetadata())
    }

    static func invalidMetadata(_ c: ConformanceContext) async throws {
        let store = c.store
        try await store.append(to: "s", events: samples(3))
        let original = StreamMetadata(maxCount: 2)
        try await store.setStreamMetadata("s", original)
        let bad = [StreamMetadata(maxCount: -1), StreamMetadata(maxAge: -1), StreamMetadata(maxAge: .nan),
                   StreamMetadata(custom: Data("[1]".utf8)), StreamMetadata(custom: Data("{".utf8))]
        for metadata in bad {
            await expectThrows(.invalidArgument, "\(metadata)") { try await store.setStreamMetadata("s", metadata) }
            #expect(try await store.streamInfo("s").metadata == original)
        }
        await expectThrows(.invalidStreamName, "$all") { try await store.setStreamMetadata("$all", StreamMetadata(maxCount: 1)) }
        await expectThrows(.invalidStreamName, "empty name") { try await store.setStreamMetadata("", StreamMetadata(maxCount: 1)) }
        #expect(revisions(try await readStream(store, "s")) == [2, 3])
    }
}
