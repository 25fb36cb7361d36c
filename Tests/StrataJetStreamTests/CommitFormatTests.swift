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
            let (headers, body) = CommitFormat.encode(entry)
            #expect(try CommitFormat.decode(headers: headers, body: body, where: "S#1") == entry)
        }
    }

    @Test("another format version is unsupportedFormat; damaged bytes are corruption")
    func damaged() throws {
        let (headers, body) = CommitFormat.encode(.commit(firstPosition: 1, recordedAtMicros: 0,
                                                          events: [CommittedEvent(stream: "s", revision: 1, event: EventData(type: "t", json: "{}"))]))
        var future = headers
        future["Strata-Format"] = "2"
        #expect(throws: StrataError.unsupportedFormat(path: "S#1", found: "Strata-Format 2", supported: "Strata-Format 1")) {
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

    @Test("a commit that does not continue the replica is refused and changes nothing")
    func replicaChecks() throws {
        let state = ReplicaState()
        let first = StoreEntry.commit(firstPosition: 1, recordedAtMicros: 0,
                                      events: [CommittedEvent(stream: "s", revision: 1, event: EventData(type: "t", json: "{}"))])
        try state.apply(first, sequence: 1, location: "S#1")
        let gap = StoreEntry.commit(firstPosition: 3, recordedAtMicros: 0,
                                    events: [CommittedEvent(stream: "s", revision: 2, event: EventData(type: "t", json: "{}"))])
        #expect(throws: StrataError.self) { try state.apply(gap, sequence: 2, location: "S#2") }
        let skipped = StoreEntry.commit(firstPosition: 2, recordedAtMicros: 0,
                                        events: [CommittedEvent(stream: "s", revision: 3, event: EventData(type: "t", json: "{}"))])
        #expect(throws: StrataError.self) { try state.apply(skipped, sequence: 2, location: "S#2") }
        #expect(state.head == 1 && state.appliedSequence == 1 && state.log.streams["s"]?.lastRevision == 1)
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
