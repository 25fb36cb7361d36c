import Foundation
import Strata
import StrataNATS
import Testing
@testable import StrataJetStream

@Suite("JetStream entry format")
struct CommitFormatTests {
    @Test("entries round-trip: commits with metadata, deletes, stream metadata")
    func roundTrip() throws {
        let events = [
            CommittedEvent(stream: "café ☕", revision: 3, event: EventData(type: "t", data: Data([0, 1, 2]), contentType: .binary, metadata: nil)),
            CommittedEvent(stream: "b", revision: 1, event: EventData(type: "u", json: "{}", metadata: #"{"tags":["x"]}"#)),
        ]
        let entries: [StoreEntry] = [
            .commit(firstPosition: 7, recordedAtMicros: -5, events: events),
            .delete(stream: "gone", mode: .tombstone),
            .delete(stream: "soft", mode: .soft),
            .metadata(stream: "m", StreamMetadata(maxCount: 3, maxAge: 1.5, truncateBefore: 2, custom: Data(#"{"a":1}"#.utf8))),
        ]
        for entry in entries {
            let (headers, body) = CommitFormat.encode(entry, head: 6)
            #expect(headers["Strata-Format"] == "2")
            #expect(try CommitFormat.decode(headers: headers, body: body, where: "S#1") == entry)
            #expect(CommitFormat.head(from: headers) == (entry.changedStream == nil ? 8 : 6))
            // Format 1 is the same body without Strata-Head: still read.
            var v1 = headers
            v1["Strata-Format"] = "1"
            v1["Strata-Head"] = nil
            #expect(try CommitFormat.decode(headers: v1, body: body, where: "S#1") == entry)
            #expect(CommitFormat.head(from: v1) == (entry.changedStream == nil ? 8 : nil))
        }
    }

    @Test("another format version is unsupportedFormat; damaged bytes are corruption")
    func damaged() throws {
        let (headers, body) = CommitFormat.encode(.commit(firstPosition: 1, recordedAtMicros: 0,
                                                          events: [CommittedEvent(stream: "s", revision: 1, event: EventData(type: "t", json: "{}"))]),
                                                  head: 0)
        var future = headers
        future["Strata-Format"] = "3"
        #expect(throws: StrataError.unsupportedFormat(path: "S#1", found: "Strata-Format 3", supported: "Strata-Format 1 or 2")) {
            try CommitFormat.decode(headers: future, body: body, where: "S#1")
        }
        for cut in [0, 5, 12, body.count - 1] {
            #expect(throws: StrataError.self) { try CommitFormat.decode(headers: headers, body: Array(body.prefix(cut)), where: "S#1") }
        }
        do {
            _ = try CommitFormat.decode(headers: headers, body: body + [0], where: "S#9")
            Issue.record("trailing bytes were accepted")
        } catch StrataError.corruption(let path, _, _) {
            #expect(path == "S#9")
        }
        var noPosition = headers
        noPosition["Strata-First-Position"] = nil
        #expect(throws: StrataError.self) { try CommitFormat.decode(headers: noPosition, body: body, where: "S#1") }
    }

    @Test("an entry that does not continue the index is corruption; one indexed already keeps its records")
    func indexChecks() throws {
        let event = { (stream: String, revision: UInt64) in CommittedEvent(stream: stream, revision: revision, event: EventData(type: "t", json: "{}")) }
        let first = StoreEntry.commit(firstPosition: 1, recordedAtMicros: 0, events: [event("s", 1), event("s", 2)])
        let records = try IndexFormat.apply(first, sequence: 1, head: 0, records: [:], location: "S#1")
        #expect(records["s"] == StreamRecord(created: 1, sequence: 1, lastRevision: 2))
        let known: [String: StreamRecord?] = ["s": records["s"]!]
        let gap = StoreEntry.commit(firstPosition: 4, recordedAtMicros: 0, events: [event("s", 3)])
        #expect(throws: StrataError.self) { try IndexFormat.apply(gap, sequence: 2, head: 2, records: known, location: "S#2") }
        let skipped = StoreEntry.commit(firstPosition: 3, recordedAtMicros: 0, events: [event("s", 4)])
        #expect(throws: StrataError.self) { try IndexFormat.apply(skipped, sequence: 2, head: 2, records: known, location: "S#2") }
        let tomb = try IndexFormat.apply(.delete(stream: "s", mode: .tombstone), sequence: 2, head: 2, records: known, location: "S#2")
        #expect(tomb["s"]?.tombstoned == true && tomb["s"]?.sequence == 2 && tomb["s"]?.created == 1)
        let afterTomb = StoreEntry.commit(firstPosition: 3, recordedAtMicros: 0, events: [event("s", 3)])
        #expect(throws: StrataError.self) { try IndexFormat.apply(afterTomb, sequence: 3, head: 2, records: ["s": tomb["s"]!], location: "S#3") }
        // A record written by an interrupted indexing of the same entry is kept, not applied twice.
        let again = try IndexFormat.apply(first, sequence: 1, head: 0, records: known, location: "S#1")
        #expect(again["s"] == records["s"])
        let soft = try IndexFormat.apply(.delete(stream: "s", mode: .soft), sequence: 2, head: 2, records: known, location: "S#2")
        #expect(soft["s"]?.exists == false && soft["s"]?.deletedThrough == 2)
        let meta = try IndexFormat.apply(.metadata(stream: "new", StreamMetadata(maxCount: 1)), sequence: 2, head: 2, records: [:], location: "S#2")
        #expect(meta["new"] == StreamRecord(created: 2, sequence: 2, metadata: StreamMetadata(maxCount: 1)))
    }

    @Test("index values round-trip")
    func indexValues() throws {
        let revisions = [RevisionLocation(position: 9, sequence: 3), RevisionLocation(position: 12, sequence: 4)]
        #expect(try IndexFormat.decodeRevisions(IndexFormat.encode(revisions), where: "X") == revisions)
        let spans = [CommitSpan(firstPosition: 1, count: 300, sequence: 1), CommitSpan(firstPosition: 301, count: 1, sequence: 5)]
        #expect(try IndexFormat.decodeSpans(IndexFormat.encode(spans), where: "X") == spans)
        let location = EventLocation(stream: "café", revision: 7, position: 70)
        #expect(try IndexFormat.decodeID(IndexFormat.encodeID(location), where: "X") == location)
        let marker = IndexMarker(sequence: 3, head: 40, streams: 2)
        #expect(try IndexFormat.decodeMarker(IndexFormat.encode(marker), where: "X") == marker)
        let record = StreamRecord(created: 1, sequence: 9, lastRevision: 4, deletedThrough: 2, tombstoned: false,
                                  metadata: StreamMetadata(maxCount: 3, custom: Data(#"{"a":1}"#.utf8)))
        #expect(try IndexFormat.decodeRecord(IndexFormat.encode(record), where: "X") == record)
        #expect(throws: StrataError.self) { try IndexFormat.decodeRevisions([1, 2, 3], where: "X") }
    }

    @Test("the bounded cache never holds more than its capacity or its cost, and evicts the least recently used")
    func boundedCache() {
        var cache = BoundedCache<Int, String>(capacity: 3, maxCost: 10)
        for i in 0 ..< 100 {
            cache.put(i, "v\(i)", cost: 2)
            #expect(cache.count <= 3 && cache.cost <= 10)
        }
        #expect(cache.get(99) == "v99" && cache.get(0) == nil)
        _ = cache.get(97)
        cache.put(100, "v100", cost: 2)
        #expect(cache.get(97) == "v97" && cache.get(98) == nil)
        cache.put(200, "big", cost: 11)
        #expect(cache.get(200) == nil && cache.count <= 3)
        cache.put(300, "heavy", cost: 9)
        #expect(cache.count == 1 && cache.cost == 9)
    }

    @Test("stream names become one safe, reversible subject token")
    func subjectTokens() {
        for name in ["order-1", "a.b", "*", ">", "with space", "ä/é+", String(repeating: "x", count: 255)] {
            let token = SubjectEncoding.token(for: name)
            #expect(!token.contains(where: { ".*> \t".contains($0) }) && !token.isEmpty)
            #expect(SubjectEncoding.stream(for: token) == name)
        }
    }
}
