import Foundation
import Strata
import StrataStorage
import StrataTestSupport
import Testing
@testable import StrataLog

/// Scavenging and erasure in the log engine (issue 17; docs/FORMAT.md, "Scavenging").
@Suite("log scavenging and erasure")
struct ScavengeTests {
    static func event(_ n: Int, _ text: String = "", padding: Int = 60) -> EventData {
        EventData(type: "scavenge-test", json: #"{"n":\#(n),"text":"\#(text)","pad":"\#(String(repeating: "p", count: padding))"}"#)
    }

    /// A workload over several small segments: kept streams, a tombstoned one, a soft-deleted
    /// one, metadata that hides events, and atomic appends that span a kept and a removed stream
    /// (whose commit record belongs to the removed one).
    static func populate(_ store: some EventStore) async throws {
        for round in 1...12 {
            try await store.append(to: "keep-\(round % 3)", events: [event(round)])
            try await store.append(to: "gone", events: [event(round), event(round + 100)])
            try await store.append(to: "soft", events: [event(round)])
            try await store.append(to: "capped", events: [event(round)])
            try await store.append(to: "truncated", events: [event(round)])
            _ = try await store.append([
                AppendRequest(stream: "keep-atomic", events: [event(round)]),
                AppendRequest(stream: "gone", events: [event(round + 200)]),
            ], condition: nil)
        }
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        try await store.deleteStream("soft", expectedRevision: .any, mode: .soft)
        try await store.append(to: "soft", events: [event(999)])  // recreated: only this stays
        try await store.setStreamMetadata("capped", StreamMetadata(maxCount: 2))
        try await store.setStreamMetadata("truncated", StreamMetadata(truncateBefore: 10, custom: Data(#"{"owner":"ops"}"#.utf8)))
    }

    static let streams = ["keep-0", "keep-1", "keep-2", "keep-atomic", "gone", "soft", "capped", "truncated"]

    /// Every event a stream read returns, in position order: what `$all` holds after a scavenge.
    static func visible(_ store: some EventStore) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for stream in streams {
            do {
                for try await e in store.readStream(stream) { events.append(e) }
            } catch StrataError.streamNotFound, StrataError.streamTombstoned {}
        }
        return events.sorted { $0.position < $1.position }
    }

    static func all(_ store: some EventStore, direction: ReadDirection = .forward) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await e in store.readAll(from: direction == .forward ? .start : .end, direction: direction) { events.append(e) }
        return events
    }

    static func infos(_ store: some EventStore) async throws -> [StreamInfo] {
        var out: [StreamInfo] = []
        for stream in streams { out.append(try await store.streamInfo(stream)) }
        return out
    }

    @Test("a scavenge removes exactly the hidden events from $all, keeps positions, stream reads and stream info, and reclaims bytes")
    func scavengeRemovesHiddenEvents() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(durability: .fsync, segmentSize: 4096)
        var store = try LogEventStore(directory: directory.path, configuration: configuration)
        try await Self.populate(store)
        let before = try await Self.all(store)
        let visible = try await Self.visible(store)
        let infos = try await Self.infos(store)
        let head = try await store.headPosition()
        #expect(visible.count < before.count)

        let report = try await store.scavenge()
        #expect(report.eventsRemoved == before.count - visible.count)
        #expect(report.bytesReclaimed > 0, "\(report)")
        #expect(report.segmentsRewritten > 0)
        let after = try await Self.all(store)
        #expect(after.map(\.id) == visible.map(\.id))
        #expect(after.map(\.position) == visible.map(\.position), "positions never change")
        #expect(try await Self.all(store, direction: .backward).map(\.id) == visible.reversed().map(\.id))
        #expect(try await Self.visible(store).map(\.id) == visible.map(\.id), "stream reads are unchanged")
        #expect(try await Self.infos(store) == infos)
        #expect(try await store.headPosition() == head)
        // Paged reads across the gaps, from a position that was removed.
        var paged: [UInt64] = []
        var next: UInt64? = 1
        while let from = next {
            let page = try await store.readAllPage(from: .at(from), direction: .forward, filter: EventFilter(), maxCount: 3)
            paged += page.events.map(\.position)
            next = page.next
        }
        #expect(paged == visible.map(\.position))

        // Appends continue after the head; a second scavenge finds nothing more.
        try await store.append(to: "keep-0", events: [Self.event(1000)])
        #expect(try await store.headPosition() == head + 1)
        #expect(try await store.scavenge().eventsRemoved == 0)
        let final = try await Self.all(store)
        let finalInfos = try await Self.infos(store)
        try await store.close()

        // Reopened from its checkpoint, then rebuilt from the log alone: the same store.
        store = try LogEventStore(directory: directory.path, configuration: configuration)
        #expect(try await Self.all(store).map(\.id) == final.map(\.id))
        #expect(try await Self.infos(store) == finalInfos)
        try await store.close()
        try FileManager.default.removeItem(atPath: directory.path + "/index.ckpt")
        store = try LogEventStore(directory: directory.path, configuration: configuration)
        #expect(try await Self.all(store).map(\.position) == final.map(\.position))
        let rebuiltInfos = try await Self.infos(store)
        #expect(rebuiltInfos == finalInfos, "revisions and stream state survive a rebuild from the log")
        try await store.append(to: "keep-1", events: [Self.event(1001)])
        #expect(try await store.headPosition() == head + 2)
        try await store.close()
        let verify = try LogEventStore.verify(directory: directory.path)
        #expect(verify.isOK, "\(verify.problems)")
        let manifest = try String(contentsOfFile: directory.path + "/manifest.json", encoding: .utf8)
        #expect(manifest.contains(#""version":2"#))
    }

    @Test("an erased stream's data and metadata are in no file of the store; it is tombstoned and an audit event records the erasure")
    func eraseLeavesNoBytes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configuration = LogConfiguration(durability: .fsync, segmentSize: 4096, compressSealedSegments: true)
        var store = try LogEventStore(directory: directory.path, configuration: configuration)
        for n in 1...40 {
            try await store.append(to: "other-\(n % 4)", events: [Self.event(n)])
            if n % 3 == 0 { try await store.append(to: "person-7", events: [Self.event(n, "SECRET-DATA-\(n)-XYZ")]) }
        }
        try await store.setStreamMetadata("person-7", StreamMetadata(custom: Data(#"{"email":"SECRET-META-XYZ"}"#.utf8)))
        try await store.append(to: "person-7", events: [Self.event(41, "SECRET-DATA-41-XYZ")])
        let others = try await Self.all(store).filter { $0.stream != "person-7" }

        let report = try await store.erase("person-7", reason: "ticket 118")
        #expect(report.eventsErased == 14)
        let info = try await store.streamInfo("person-7")
        #expect(info.isTombstoned && info.lastRevision == 14 && info.metadata.isEmpty)
        let after = try await Self.all(store)
        #expect(after.filter { $0.stream != Erasure.auditStream }.map(\.id) == others.map(\.id))
        let audit = try #require(after.last)
        #expect(audit.stream == Erasure.auditStream && audit.type == Erasure.auditEventType && audit.position == report.auditPosition)
        #expect(String(decoding: audit.data, as: UTF8.self) == #"{"stream":"person-7","lastRevision":14,"reason":"ticket 118"}"#)
        await #expect(throws: StrataError.self) { try await store.append(to: "person-7", events: [Self.event(1)]) }
        try await store.close()

        // Grep every file of the store, compressed segments decompressed.
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path)
        for file in files {
            let path = directory.path + "/" + file
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            if file.hasSuffix(".gz") { bytes = Data(try SegmentCompression.decompress(path: path)) }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("SECRET-DATA"), "erased data found in \(file)")
            #expect(!text.contains("SECRET-META"), "erased metadata found in \(file)")
        }
        store = try LogEventStore(directory: directory.path, configuration: configuration)
        #expect(try await store.streamInfo("person-7").isTombstoned)
        #expect(try await Self.all(store).count == after.count)
        try await store.close()
        #expect(try LogEventStore.verify(directory: directory.path).isOK)
    }

    @Test("erasing a $ stream or a stream the store never knew is refused")
    func eraseRefusals() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try LogEventStore(directory: directory.path)
        await #expect(throws: StrataError.self) { _ = try await store.erase("$erasures", reason: "") }
        await #expect(throws: StrataError.self) { _ = try await store.erase("never-written", reason: "") }
        try await store.close()
    }

    @Test("a power loss at any disk operation of a scavenge leaves a store that opens, verifies and reads every visible event")
    func powerLossAtEveryStep() async throws {
        let configuration = LogConfiguration(durability: .fsync, segmentSize: 4096)
        let path = "/sim/scavenge"
        var step = 1
        var completed = false
        while !completed {
            #expect(step < 400, "the scavenge never completed")
            if step >= 400 { return }
            let disk = SimulatedDisk(seed: UInt64(step))
            let store = try LogEventStore(directory: path, configuration: configuration, fileSystem: disk.fileSystem())
            try await Self.populate(store)
            let before = Set(try await Self.all(store).map(\.id))
            let visible = try await Self.visible(store)
            let infos = try await Self.infos(store)
            disk.powerLoss(afterOperations: step)
            _ = try? await store.scavenge()
            completed = disk.powerLossPending
            if completed {
                disk.clearFaults()
                _ = disk.powerLoss()
            }
            try? await store.close()

            let reopened = try LogEventStore(directory: path, configuration: configuration, fileSystem: disk.fileSystem())
            let all = try await Self.all(reopened)
            #expect(Set(all.map(\.id)).isSubset(of: before), "step \(step): an event appeared")
            #expect(Set(visible.map(\.id)).isSubset(of: Set(all.map(\.id))), "step \(step): a visible event was lost")
            #expect(try await Self.visible(reopened).map(\.id) == visible.map(\.id), "step \(step)")
            let reopenedInfos = try await Self.infos(reopened)
            #expect(reopenedInfos.map(\.lastRevision) == infos.map(\.lastRevision), "step \(step)")
            #expect(reopenedInfos.map(\.isTombstoned) == infos.map(\.isTombstoned), "step \(step)")
            #expect(reopenedInfos.map(\.metadata) == infos.map(\.metadata), "step \(step)")
            // The scavenge can be run again to completion.
            let again = try await reopened.scavenge()
            #expect(try await Self.all(reopened).map(\.id) == visible.map(\.id), "step \(step) after a second scavenge (\(again))")
            try await reopened.close()
            let verify = try LogEventStore.verify(directory: path, fileSystem: disk.fileSystem())
            #expect(verify.isOK, "step \(step): \(verify.problems)")
            step += 1
        }
    }
}
