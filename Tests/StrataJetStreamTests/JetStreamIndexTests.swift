import Foundation
import Strata
import StrataNATS
import StrataTestSupport
import Testing
@testable import StrataJetStream

/// The index kept in JetStream (docs/JETSTREAM.md, "Index format, version 1"): bounded memory,
/// a store written by version 1, and repair after a writer died between its commit and its index.
@Suite("JetStream index", .serialized, .enabled(if: NATSServerProcess.isEnabled, "STRATA_NATS_UNAVAILABLE=1"))
struct JetStreamIndexTests {
    static func configuration(_ urls: [String], store: String, _ tweak: (inout JetStreamStoreConfiguration) -> Void = { _ in })
        throws -> JetStreamStoreConfiguration {
        var config = try JetStreamStoreConfiguration(urls: urls, store: store)
        config.indexRepairDelay = .milliseconds(50)
        tweak(&config)
        return config
    }

    static func event(_ i: Int) -> EventData {
        EventData(type: "e\(i % 3)", json: #"{"i":\#(i),"pad":"\#(String(repeating: "x", count: 100))"}"#)
    }

    /// Publishes `entry` to the store's main stream as a writer of entry format `format` would,
    /// without touching the index (a writer that dies right after its commit, or version 1).
    static func publishRaw(_ js: JetStream, _ config: JetStreamStoreConfiguration, _ entry: StoreEntry, head: UInt64,
                           expected: UInt64, format: String = "2") async throws -> UInt64 {
        var (headers, body) = CommitFormat.encode(entry, head: head)
        if format == "1" {
            headers["Strata-Format"] = "1"
            headers["Strata-Head"] = nil
        }
        let subject: String
        switch entry {
        case .commit: subject = "\(config.subjectPrefix).m"
        case .delete(let s, _): subject = "\(config.subjectPrefix).d.\(SubjectEncoding.token(for: s))"
        case .metadata(let s, _): subject = "\(config.subjectPrefix).meta.\(SubjectEncoding.token(for: s))"
        }
        return try await js.publish(subject, payload: body, headers: headers,
                                    options: JetStreamPublishOptions(expectedLastSequence: expected, expectedStream: config.streamName)).seq
    }

    static func committed(_ stream: String, _ revision: UInt64, _ event: EventData) -> CommittedEvent {
        CommittedEvent(stream: stream, revision: revision, event: event)
    }

    @Test("memory is bounded: after writing and reading 20,000 events the caches hold at most their limits, and a second instance opens with empty caches")
    func boundedMemory() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let config = try Self.configuration(cluster.urls, store: "bounded") { c in
                c.cacheLimits.commits = 8
                c.cacheLimits.commitBytes = 256 << 10
                c.cacheLimits.revisionChunks = 4
                c.cacheLimits.positionChunks = 4
            }
            let store = try await JetStreamEventStore.open(config)
            let total = 20_000
            var i = 0
            while i < total {
                try await store.append(to: "s-\(i / 100 % 50)", events: (i ..< i + 100).map(Self.event))
                i += 100
            }
            var read = 0
            for try await e in store.readAll() {
                read += 1
                #expect(e.position == UInt64(read))
            }
            #expect(read == total)
            var perStream = 0
            for s in 0 ..< 50 {
                for try await _ in store.readStream("s-\(s)") { perStream += 1 }
            }
            #expect(perStream == total)
            let backward = try await store.readAllPage(from: .end, direction: .backward, filter: EventFilter(), maxCount: 10)
            #expect(backward.events.map(\.position) == Array((UInt64(total) - 9 ... UInt64(total)).reversed()))
            let stats = try await store.stats()
            func figure(_ key: String) -> Int { Int(stats.details[key] ?? "") ?? -1 }
            #expect((0 ... 8).contains(figure("cachedCommits")), "\(stats.details)")
            #expect((0 ... 256 << 10).contains(figure("cachedCommitBytes")), "\(stats.details)")
            #expect((0 ... 4).contains(figure("cachedRevisionChunks")), "\(stats.details)")
            #expect((0 ... 4).contains(figure("cachedPositionChunks")), "\(stats.details)")
            #expect(stats.headPosition == UInt64(total) && stats.streamCount == 50)

            // Opening reads nothing but the marker: a second instance starts with empty caches.
            let second = try await JetStreamEventStore.open(config)
            let counts = second.index.cacheCounts
            #expect(counts.commits == 0 && counts.revisionChunks == 0 && counts.positionChunks == 0)
            #expect(try await second.headPosition() == UInt64(total))
            try await second.close()
            try await store.close()
        }
    }

    @Test("a store written by version 1 is indexed once at open, crash-safely, and then read and written as usual")
    func versionOneStore() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let config = try Self.configuration(cluster.urls, store: "old")
            let connection = try await connect(cluster.urls)
            let js = JetStream(connection: connection)
            // The main stream as version 1 created it, and no index stream.
            var streamConfig = JetStreamStreamConfig(name: config.streamName, subjects: ["\(config.subjectPrefix).>"])
            streamConfig.denyDelete = true
            streamConfig.denyPurge = true
            _ = try await js.createStream(streamConfig)
            let a = (0 ..< 3).map(Self.event), b = (3 ..< 5).map(Self.event)
            var seq = try await Self.publishRaw(js, config, .commit(firstPosition: 1, recordedAtMicros: 1, events: [
                Self.committed("a", 1, a[0]), Self.committed("a", 2, a[1]), Self.committed("b", 1, b[0]),
            ]), head: 0, expected: 0, format: "1")
            seq = try await Self.publishRaw(js, config, .metadata(stream: "a", StreamMetadata(maxCount: 5)), head: 3, expected: seq, format: "1")
            seq = try await Self.publishRaw(js, config, .commit(firstPosition: 4, recordedAtMicros: 2, events: [
                Self.committed("a", 3, a[2]), Self.committed("b", 2, b[1]),
            ]), head: 3, expected: seq, format: "1")
            seq = try await Self.publishRaw(js, config, .delete(stream: "b", mode: .soft), head: 5, expected: seq, format: "1")
            #expect(seq == 4)

            // An indexing interrupted after entry 2, with part of entry 3 written (its ids).
            _ = try await js.createStream({
                var c = JetStreamStreamConfig(name: config.indexStreamName, subjects: ["\(config.indexSubjectPrefix).>"])
                c.maxMsgsPerSubject = 1
                c.denyDelete = true
                return c
            }())
            let created = try #require(try await js.streamInfo(config.streamName).created)
            let partial = StoreIndex(js: js, mainStream: config.streamName, stream: config.indexStreamName,
                                     prefix: config.indexSubjectPrefix, storeCreated: created, limits: JetStreamCacheLimits())
            #expect(try await partial.ensureIndexed(through: 2).marker == IndexMarker(sequence: 2, head: 3, streams: 2, store: created))
            _ = try await partial.put(partial.idSubject(a[2].id), IndexFormat.encodeID(EventLocation(stream: "a", revision: 3, position: 4)), expected: 0)

            let store = try await JetStreamEventStore.open(config)
            #expect(try await store.headPosition() == 5)
            #expect(try await store.index.fetchMarker().marker == IndexMarker(sequence: 4, head: 5, streams: 2, store: created))
            #expect(try await store.readStream("a").map(\.id).collect() == a.map(\.id))
            await #expect(throws: StrataError.streamNotFound("b")) { _ = try await store.readStreamPage("b", from: .start, direction: .forward, maxCount: 10) }
            #expect(try await store.readAll().map(\.id).collect() == [a[0].id, a[1].id, b[0].id, a[2].id, b[1].id])
            #expect(try await store.streamInfo("a").metadata == StreamMetadata(maxCount: 5))
            #expect(try await store.listStreamsPage(prefix: "", after: nil, maxCount: 10) == ["a"])
            // Ids written by version 1 are known: a repeat is idempotent, another stream is refused.
            let again = try await store.append(to: "a", events: [a[2]])
            #expect(again.firstPosition == 4 && again.firstRevision == 3)
            await #expect(throws: StrataError.self) { try await store.append(to: "c", events: [b[0]]) }
            // New writes are format 2 and continue the store.
            let next = try await store.append(to: "b", expectedRevision: .noStream, events: [Self.event(9)])
            #expect(next.firstPosition == 6 && next.firstRevision == 3)
            let written = try #require(try await js.getMessage(stream: config.streamName, sequence: 5))
            #expect(written.headers?["Strata-Format"] == "2" && written.headers?["Strata-Head"] == "6")
            try await store.close()
            try? await connection.close()
        }
    }

    @Test("a writer that died between its commit and its index: the next operation anywhere indexes the commit (once, also when two instances repair at once), and every guarantee holds")
    func repairAfterCrash() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let config = try Self.configuration(cluster.urls, store: "crash")
            let store = try await JetStreamEventStore.open(config)
            let first = try await store.append(to: "s", events: [Self.event(0), Self.event(1)])
            #expect(first.lastPosition == 2)
            let connection = try await connect(cluster.urls)
            let js = JetStream(connection: connection)
            // The dead writer's commits: at sequence 2 (indexed partly: its ids and revision
            // chunk only) and 3 (not indexed at all), one of them across two streams.
            let lost = [Self.event(2), Self.event(3)], lostToo = Self.event(4)
            _ = try await Self.publishRaw(js, config, .commit(firstPosition: 3, recordedAtMicros: 5, events: [
                Self.committed("s", 3, lost[0]), Self.committed("t", 1, lost[1]),
            ]), head: 2, expected: 1)
            _ = try await Self.publishRaw(js, config, .commit(firstPosition: 5, recordedAtMicros: 6, events: [Self.committed("s", 4, lostToo)]),
                                          head: 4, expected: 2)
            let created = try #require(try await js.streamInfo(config.streamName).created)
            let raw = StoreIndex(js: js, mainStream: config.streamName, stream: config.indexStreamName,
                                 prefix: config.indexSubjectPrefix, storeCreated: created, limits: JetStreamCacheLimits())
            _ = try await raw.put(raw.idSubject(lost[0].id), IndexFormat.encodeID(EventLocation(stream: "s", revision: 3, position: 3)), expected: 0)
            #expect(try await raw.fetchMarker().marker.sequence == 1)

            // Two instances repair at once; both end on the same index.
            let other = try await JetStreamEventStore.open(config)
            async let h1 = store.headPosition()
            async let h2 = other.headPosition()
            #expect(try await [h1, h2] == [5, 5])
            #expect(try await raw.fetchMarker().marker == IndexMarker(sequence: 3, head: 5, streams: 2, store: created))
            let revisions = try #require(try await raw.get(raw.revisionSubject("s", chunk: 0)))
            #expect(try IndexFormat.decodeRevisions(revisions.body, where: "") == [
                RevisionLocation(position: 1, sequence: 1), RevisionLocation(position: 2, sequence: 1),
                RevisionLocation(position: 3, sequence: 2), RevisionLocation(position: 5, sequence: 3),
            ])
            let spans = try #require(try await raw.get(raw.positionSubject(chunk: 0)))
            #expect(try IndexFormat.decodeSpans(spans.body, where: "") == [
                CommitSpan(firstPosition: 1, count: 2, sequence: 1), CommitSpan(firstPosition: 3, count: 2, sequence: 2),
                CommitSpan(firstPosition: 5, count: 1, sequence: 3),
            ])
            #expect(try await other.readStream("s").map(\.position).collect() == [1, 2, 3, 5])
            #expect(try await other.streamInfo("t").lastRevision == 1)
            // Idempotency reaches the repaired events; expected revisions see them.
            let repeated = try await other.append(to: "s", events: [lostToo])
            #expect(repeated.firstPosition == 5 && repeated.firstRevision == 4)
            await #expect(throws: StrataError.wrongExpectedRevision(stream: "s", expected: .exact(2), actual: 4)) {
                try await store.append(to: "s", expectedRevision: .exact(2), events: [Self.event(5)])
            }
            let after = try await store.append(to: "s", expectedRevision: .exact(4), events: [Self.event(6)])
            #expect(after.firstPosition == 6 && after.firstRevision == 5)
            #expect(try await other.readAll().map(\.position).collect() == [1, 2, 3, 4, 5, 6])
            try await other.close()
            try await store.close()
            try? await connection.close()
        }
    }
}

extension JetStreamIndexTests {
    @Test("an index stream left over from a deleted store of the same name is refused with a typed error; deleting it lets the new store open")
    func leftoverIndex() async throws {
        try await NATSTestCluster.run(nodes: 1) { cluster in
            let config = try Self.configuration(cluster.urls, store: "again")
            let store = try await JetStreamEventStore.open(config)
            try await store.append(to: "s", events: [Self.event(0)])
            try await store.close()
            let connection = try await connect(cluster.urls)
            let js = JetStream(connection: connection)
            try await js.deleteStream(config.streamName)
            do {
                _ = try await JetStreamEventStore.open(config)
                Issue.record("a store opened on another stream's index")
            } catch StrataError.corruption(let path, _, let reason) {
                #expect(path == "nats:\(config.indexStreamName)" && reason.contains("delete the stream \(config.indexStreamName)"), "\(reason)")
            }
            try await js.deleteStream(config.indexStreamName)
            let fresh = try await JetStreamEventStore.open(config)
            #expect(try await fresh.headPosition() == 0)
            #expect(try await fresh.append(to: "s", events: [Self.event(1)]).firstPosition == 1)
            try await fresh.close()
            try? await connection.close()
        }
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func collect() async throws -> [Element] {
        var out: [Element] = []
        for try await e in self { out.append(e) }
        return out
    }
}
