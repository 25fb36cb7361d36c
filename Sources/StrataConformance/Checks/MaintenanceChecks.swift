import Foundation
import Strata
import Testing

/// Scavenging and erasure (docs/CONTRACT.md, "Scavenging and erasure"), on every backend that
/// conforms to `MaintainableEventStore`; a backend that does not passes these checks trivially.
enum MaintenanceChecks {
    static let all: [ConformanceCheck] = [
        ConformanceCheck("a scavenge removes from $all exactly the events no stream read returns, keeping positions, stream reads and stream info", scavengeRule),
        ConformanceCheck("after a scavenge removed the newest events, appends continue after the old head", noPositionReuse),
        ConformanceCheck("an erased stream is tombstoned without metadata, $all no longer holds its events, and $erasures records the erasure", erase),
        ConformanceCheck("erasing a $ stream or a stream the store never knew is refused", eraseRefused),
    ]

    /// The store, when it can scavenge: conforming to the protocol is not enough for a client
    /// whose server's store cannot (it answers `unsupported`). Probed on the still empty store.
    static func maintainable(_ c: ConformanceContext) async throws -> (any MaintainableEventStore)? {
        guard let store = c.store as? any MaintainableEventStore else { return nil }
        do {
            let report = try await store.scavenge()
            #expect(report.eventsRemoved == 0, "a scavenge of an empty store removes nothing")
        } catch StrataError.unsupported {
            return nil
        }
        return store
    }

    static let streams = ["keep", "gone", "soft", "capped", "truncated", "atomic"]

    /// Every event a stream read returns, in position order.
    static func visible(_ store: any EventStore) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for stream in streams {
            do {
                events += try await readStream(store, stream)
            } catch StrataError.streamNotFound, StrataError.streamTombstoned {}
        }
        return events.sorted { $0.position < $1.position }
    }

    static func populate(_ store: any EventStore) async throws {
        for round in 1...4 {
            try await store.append(to: "keep", events: samples(1, from: round))
            try await store.append(to: "gone", events: samples(2, from: round))
            try await store.append(to: "soft", events: samples(1, from: round))
            try await store.append(to: "capped", events: samples(1, from: round))
            try await store.append(to: "truncated", events: samples(1, from: round))
            _ = try await store.append([
                AppendRequest(stream: "atomic", events: samples(1, from: round)),
                AppendRequest(stream: "gone", events: samples(1, from: round + 10)),
            ], condition: nil)
        }
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        try await store.deleteStream("soft", expectedRevision: .any, mode: .soft)
        try await store.append(to: "soft", event: sample())
        try await store.setStreamMetadata("capped", StreamMetadata(maxCount: 2))
        try await store.setStreamMetadata("truncated", StreamMetadata(truncateBefore: 3))
    }

    static func scavengeRule(_ c: ConformanceContext) async throws {
        guard let store = try await maintainable(c) else { return }
        try await populate(store)
        let before = try await readAll(store)
        let visible = try await visible(store)
        var infos: [StreamInfo] = []
        for stream in streams { infos.append(try await store.streamInfo(stream)) }
        let head = try await store.headPosition()

        let report = try await store.scavenge()
        #expect(report.eventsRemoved == before.count - visible.count)
        let after = try await readAll(store)
        #expect(after.map(\.id) == visible.map(\.id))
        #expect(positions(after) == positions(visible), "positions never change")
        #expect(try await readAll(store, from: .end, direction: .backward).map(\.id) == visible.reversed().map(\.id))
        #expect(positions(try await readAll(store, filter: EventFilter(streamPrefixes: ["cap"]))) == positions(visible.filter { $0.stream == "capped" }))
        #expect(try await Self.visible(store).map(\.id) == visible.map(\.id), "stream reads do not change")
        for (stream, info) in zip(streams, infos) { #expect(try await store.streamInfo(stream) == info) }
        #expect(try await store.headPosition() == head)
        // Paged from every position, removed ones included.
        for from in 1...head {
            let page = try await store.readAllPage(from: .at(from), direction: .forward, filter: EventFilter(), maxCount: 2)
            #expect(positions(page.events) == Array(positions(visible).filter { $0 >= from }.prefix(2)), "page from \(from)")
        }
        #expect(try await store.scavenge().eventsRemoved == 0, "a second scavenge finds nothing")
    }

    static func noPositionReuse(_ c: ConformanceContext) async throws {
        guard let store = try await maintainable(c) else { return }
        try await store.append(to: "keep", events: samples(2))
        try await store.append(to: "gone", events: samples(3))
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        _ = try await store.scavenge()
        #expect(positions(try await readAll(store)) == [1, 2])
        #expect(try await store.headPosition() == 5)
        let r = try await store.append(to: "keep", event: sample())
        #expect(r.firstPosition == 6)
        #expect(positions(try await readAll(store)) == [1, 2, 6])
    }

    static func erase(_ c: ConformanceContext) async throws {
        guard let store = try await maintainable(c) else { return }
        try await store.append(to: "keep", events: samples(2))
        try await store.append(to: "person-1", events: samples(3))
        try await store.setStreamMetadata("person-1", StreamMetadata(custom: Data(#"{"email":"a@example.com"}"#.utf8)))
        try await store.append(to: "keep", event: sample())
        let report = try await store.erase("person-1", reason: "request 7")
        #expect(report.stream == "person-1" && report.eventsErased == 3)
        let info = try await store.streamInfo("person-1")
        #expect(info.isTombstoned && info.lastRevision == 3 && info.metadata.isEmpty)
        let all = try await readAll(store)
        #expect(all.map(\.stream) == ["keep", "keep", "keep", Erasure.auditStream])
        let audit = try await readStream(store, Erasure.auditStream)
        #expect(audit.count == 1 && audit[0].type == Erasure.auditEventType && audit[0].position == report.auditPosition)
        #expect(String(decoding: audit[0].data, as: UTF8.self) == #"{"stream":"person-1","lastRevision":3,"reason":"request 7"}"#)
        await expectThrows(.streamTombstoned) { try await store.append(to: "person-1", event: sample()) }
    }

    static func eraseRefused(_ c: ConformanceContext) async throws {
        guard let store = try await maintainable(c) else { return }
        await expectThrows(.invalidStreamName) { try await store.erase(Erasure.auditStream, reason: "") }
        await expectThrows(.streamNotFound) { try await store.erase("never-written", reason: "") }
        #expect(try await store.headPosition() == 0, "a refused erasure writes nothing")
    }
}
