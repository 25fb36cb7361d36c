import Foundation
import Strata
import Testing

/// Listing stream names.
enum ListingChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("listStreams filters by prefix, sorts by UTF-8 bytes and skips deleted, tombstoned and unwritten streams", prefixAndOrder),
        ConformanceCheck("listStreams pages through more than 512 names in order", paging),
    ]

    static func prefixAndOrder(_ c: ConformanceContext) async throws {
        let store = c.store
        let names = ["b", "a", "a-2", "a-10", "Z", "é", "z", "ab", "a b", "~", "ä-1", "a-1"]
        for name in names { try await store.append(to: name, event: sample()) }
        try await store.deleteStream("ab", expectedRevision: .any, mode: .soft)
        try await store.deleteStream("z", expectedRevision: .any, mode: .tombstone)
        try await store.setStreamMetadata("a-unwritten", StreamMetadata(maxCount: 1))
        let live = names.filter { $0 != "ab" && $0 != "z" }
        let byBytes = live.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(byBytes == ["Z", "a", "a b", "a-1", "a-10", "a-2", "b", "~", "ä-1", "é"])
        #expect(try await store.listStreams().collect() == byBytes)
        #expect(try await store.listStreams(prefix: "a").collect() == ["a", "a b", "a-1", "a-10", "a-2"])
        #expect(try await store.listStreams(prefix: "a-1").collect() == ["a-1", "a-10"])
        #expect(try await store.listStreams(prefix: "ä").collect() == ["ä-1"])
        #expect(try await store.listStreams(prefix: "nothing").collect() == [])
        #expect(try await store.listStreamsPage(prefix: "a", after: "a-1", maxCount: 2) == ["a-10", "a-2"])
        #expect(try await store.listStreamsPage(prefix: "", after: "~", maxCount: 10) == ["ä-1", "é"])
        #expect(try await store.listStreamsPage(prefix: "", after: nil, maxCount: 0) == [])
        // A soft-deleted stream that is written again is listed again.
        try await store.append(to: "ab", event: sample())
        #expect(try await store.listStreams(prefix: "ab").collect() == ["ab"])
    }

    static func paging(_ c: ConformanceContext) async throws {
        let store = c.store
        let count = 1_100
        let names = (0..<count).map { "s-" + String(1_000_000 + $0 * 7 % count).dropFirst() }
        for chunk in stride(from: 0, to: count, by: 100) {
            try await store.append(names[chunk..<min(chunk + 100, count)].map { AppendRequest(stream: $0, events: [sample()]) })
        }
        let listed = try await store.listStreams().collect()
        #expect(listed.count == count)
        #expect(listed == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(try await store.listStreams(prefix: "s-00050").collect() == (0..<10).map { "s-00050\($0)" })
        #expect(try await store.listStreams(prefix: "s-000").collect().count == 1_000)
    }
}
