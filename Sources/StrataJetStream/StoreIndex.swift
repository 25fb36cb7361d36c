import Foundation
import Strata
import StrataNATS
import Synchronization

/// How many index keys, commits and events one store instance keeps in memory, whatever the
/// store's size (docs/JETSTREAM.md, "Memory").
public struct JetStreamCacheLimits: Sendable, Hashable {
    /// Decoded commits kept (each holds the events of one commit).
    public var commits = 256
    /// Event bytes (data and metadata) the kept commits may hold together.
    public var commitBytes = 16 << 20
    /// Revision chunks (256 revisions of one stream each) kept.
    public var revisionChunks = 1024
    /// Position chunks (the commits of 256 positions each) kept.
    public var positionChunks = 1024

    /// The default limits: 256 commits, 16 MiB of events, 1,024 chunks of each kind.
    public init() {}
}

/// One commit as a read needs it: its events, recorded, in position order.
struct CachedCommit: Sendable {
    let sequence: UInt64
    let firstPosition: UInt64
    let events: [RecordedEvent]

    var lastPosition: UInt64 { firstPosition + UInt64(events.count) - 1 }

    func event(at position: UInt64) -> RecordedEvent? {
        guard position >= firstPosition, position <= lastPosition else { return nil }
        return events[Int(position - firstPosition)]
    }
}

/// What an instance holds in memory: bounded caches only.
struct IndexCaches {
    var commits: BoundedCache<UInt64, CachedCommit>
    /// Revision chunks by subject, with their subject sequence.
    var revisions: BoundedCache<String, (chunk: [RevisionLocation], subjectSequence: UInt64)>
    /// Position chunks by number, with their subject sequence.
    var positions: BoundedCache<UInt64, (chunk: [CommitSpan], subjectSequence: UInt64)>

    init(_ limits: JetStreamCacheLimits) {
        commits = BoundedCache(capacity: limits.commits, maxCost: limits.commitBytes)
        revisions = BoundedCache(capacity: limits.revisionChunks)
        positions = BoundedCache(capacity: limits.positionChunks)
    }
}

/// The store's index in its JetStream index stream (docs/JETSTREAM.md, "Index format, version
/// 1"), and the reads of events by position and by revision through it. Every read goes to the
/// stream leader (`STREAM.MSG.GET`), so it sees every acknowledged write; immutable values
/// (commits, chunks) are cached within bounds.
final class StoreIndex: Sendable {
    let js: JetStream
    let mainStream: String
    let stream: String
    let prefix: String
    let caches: Mutex<IndexCaches>
    /// The newest marker this instance has seen, with its subject sequence.
    private let known = Mutex<(marker: IndexMarker, subjectSequence: UInt64)?>(nil)

    /// The main stream's creation time, which the marker records (docs/JETSTREAM.md).
    let storeCreated: String

    init(js: JetStream, mainStream: String, stream: String, prefix: String, storeCreated: String, limits: JetStreamCacheLimits) {
        self.js = js
        self.storeCreated = storeCreated
        self.mainStream = mainStream
        self.stream = stream
        self.prefix = prefix
        self.caches = Mutex(IndexCaches(limits))
    }

    // MARK: - Subjects

    var headSubject: String { "\(prefix).head" }
    func recordSubject(_ name: String) -> String { "\(prefix).s.\(SubjectEncoding.token(for: name))" }
    func revisionSubject(_ name: String, chunk: UInt64) -> String { "\(prefix).r.\(SubjectEncoding.token(for: name)).\(chunk)" }
    func positionSubject(chunk: UInt64) -> String { "\(prefix).p.\(chunk)" }
    func idSubject(_ id: UUID) -> String { "\(prefix).e.\(id.uuidString)" }

    // MARK: - Raw keys

    private var keys: KeyValueStream { KeyValueStream(js: js, stream: stream, header: IndexFormat.header, version: IndexFormat.version) }

    /// The value of a key and its subject sequence, or `nil` when the key was never written.
    func get(_ subject: String) async throws -> (body: [UInt8], sequence: UInt64)? { try await keys.get(subject) }

    /// Writes a key if its last subject sequence is still `expected` (0: never written).
    /// - Returns: the new subject sequence, or `nil` when another writer came first.
    @discardableResult
    func put(_ subject: String, _ body: [UInt8], expected: UInt64) async throws -> UInt64? {
        try await keys.put(subject, body, expected: expected)
    }

    // MARK: - The marker

    /// The newest marker this instance knows, without a round trip.
    var knownMarker: IndexMarker? { known.withLock { $0?.marker } }

    /// Records a marker seen elsewhere (the store's follower of `<ix>.head`).
    func remember(_ marker: IndexMarker, _ subjectSequence: UInt64) {
        known.withLock { k in
            if k == nil || k!.marker.sequence < marker.sequence { k = (marker, subjectSequence) }
        }
    }

    /// Reads the marker from the server.
    func fetchMarker() async throws -> (marker: IndexMarker, subjectSequence: UInt64) {
        guard let (body, seq) = try await get(headSubject) else { return (.empty, 0) }
        let marker = try IndexFormat.decodeMarker(body, where: "\(stream)#\(seq)")
        remember(marker, seq)
        return (marker, seq)
    }

    /// Returns a marker at `sequence` or later, indexing the main stream's entries up to
    /// `sequence` first when the index is behind (a writer died between its commit and its
    /// index, or an instance of version 1 wrote them).
    func ensureIndexed(through sequence: UInt64) async throws -> (marker: IndexMarker, subjectSequence: UInt64) {
        if let k = known.withLock({ $0 }), k.marker.sequence >= sequence { return k }
        var (marker, markerSequence) = try await fetchMarker()
        if markerSequence == 0 {
            // A new index: its marker comes first and names the stream it indexes.
            let first = IndexMarker(sequence: 0, head: 0, streams: 0, store: storeCreated)
            if let seq = try await put(headSubject, IndexFormat.encode(first), expected: 0) {
                (marker, markerSequence) = (first, seq)
                remember(first, seq)
            } else {
                (marker, markerSequence) = try await fetchMarker()
            }
        }
        while marker.sequence < sequence {
            let n = marker.sequence + 1
            let location = "\(mainStream)#\(n)"
            guard let message = try await js.getMessage(stream: mainStream, sequence: n) else {
                throw StrataError.corruption(path: location, offset: 0, reason: "the entry is missing from the stream")
            }
            let entry = try CommitFormat.decode(headers: message.headers, body: message.bytes, where: location)
            (marker, markerSequence) = try await index(entry, sequence: n, after: marker, markerSequence: markerSequence)
        }
        return (marker, markerSequence)
    }

    /// The newest marker this instance knows, with its subject sequence.
    var knownMarkerAndSequence: (marker: IndexMarker, subjectSequence: UInt64)? { known.withLock { $0 } }

    /// Indexes main-stream entry `sequence`, the one after `marker` (docs/JETSTREAM.md,
    /// "Maintenance"), and returns the new marker. Safe to run by several instances at once.
    /// `known` may hold the records of the entry's streams as of `marker` (the writer read them
    /// to plan the entry); the others are read.
    func index(_ entry: StoreEntry, sequence n: UInt64, after marker: IndexMarker, markerSequence: UInt64,
               known: [String: (record: StreamRecord, subjectSequence: UInt64)?] = [:]) async throws -> (marker: IndexMarker, subjectSequence: UInt64) {
        precondition(marker.sequence + 1 == n, "entries are indexed in stream order")
        let location = "\(mainStream)#\(n)"
        let names = IndexFormat.streams(of: entry)
        let before = try await concurrently(names) { name in
            if let hint = known[name] { return (name, hint) }
            return (name, try await self.record(name))
        }
        var records: [String: StreamRecord?] = [:]
        var recordSequences: [String: UInt64] = [:]
        for (name, found) in before {
            records[name] = found?.record
            recordSequences[name] = found?.subjectSequence ?? 0
        }
        let after = try IndexFormat.apply(entry, sequence: n, head: marker.head, records: records, location: location)
        if case .commit(let first, _, let events) = entry {
            // 1–3 at once (each must precede the records and the marker, not each other).
            // 1. Event ids: written once; a conflict is another instance's identical value.
            async let ids = concurrently(Array(events.enumerated())) { i, e in
                let body = IndexFormat.encodeID(EventLocation(stream: e.stream, revision: e.revision, position: first + UInt64(i)))
                return try await self.put(self.idSubject(e.event.id), body, expected: 0)
            }
            // 2. Revision chunks.
            var chunks: [String: [(revision: UInt64, location: RevisionLocation)]] = [:]
            for (i, e) in events.enumerated() {
                let k = (e.revision - 1) / IndexFormat.chunk
                chunks[revisionSubject(e.stream, chunk: k), default: []].append((e.revision, RevisionLocation(position: first + UInt64(i), sequence: n)))
            }
            async let revisions = concurrently(Array(chunks)) { subject, revisions in
                try await self.appendRevisions(subject, revisions, location: location)
            }
            // 3. Position chunks.
            let span = CommitSpan(firstPosition: first, count: UInt64(events.count), sequence: n)
            let ks = Array((first - 1) / IndexFormat.chunk ... (span.lastPosition - 1) / IndexFormat.chunk)
            async let positions = concurrently(ks) { k in try await self.appendSpan(span, chunk: k) }
            _ = try await (ids, revisions, positions)
        }
        // 4. Stream records.
        let expectedSequences = recordSequences
        _ = try await concurrently(Array(after)) { name, record in
            try await self.write(record, of: name, expected: expectedSequences[name] ?? 0, sequence: n)
        }
        // 5. The marker.
        let created = UInt64(after.values.filter { $0.created == n }.count)
        let next = IndexMarker(sequence: n, head: entry.head(after: marker.head), streams: marker.streams + created, store: marker.store)
        var expected = markerSequence
        while true {
            if let seq = try await put(headSubject, IndexFormat.encode(next), expected: expected) {
                remember(next, seq)
                return (next, seq)
            }
            let (m, seq) = try await fetchMarker()
            if m.sequence >= n { return (m, seq) }
            expected = seq
        }
    }

    private func appendRevisions(_ subject: String, _ revisions: [(revision: UInt64, location: RevisionLocation)], location: String) async throws {
        let base = (revisions[0].revision - 1) / IndexFormat.chunk * IndexFormat.chunk
        // The chunk as this instance last saw it saves a read; a conflict reads it.
        var current = caches.withLock { $0.revisions.get(subject) }
        while true {
            let (have, sequence): ([RevisionLocation], UInt64)
            if let c = current {
                (have, sequence) = c
            } else {
                let found = try await get(subject)
                have = try found.map { try IndexFormat.decodeRevisions($0.body, where: "\(stream)#\($0.sequence)") } ?? []
                sequence = found?.sequence ?? 0
            }
            let last = base + UInt64(have.count)
            let new = revisions.filter { $0.revision > last }
            guard let firstNew = new.first else { return }
            guard firstNew.revision == last + 1 else {
                if current != nil { current = nil; continue }
                throw StrataError.corruption(path: location, offset: 0, reason: "revision \(firstNew.revision) follows revision \(last) in the index (\(subject))")
            }
            let chunk = have + new.map(\.location)
            if let written = try await put(subject, IndexFormat.encode(chunk), expected: sequence) {
                caches.withLock { $0.revisions.put(subject, (chunk, written)) }
                return
            }
            current = nil
        }
    }

    private func appendSpan(_ span: CommitSpan, chunk k: UInt64) async throws {
        let subject = positionSubject(chunk: k)
        var current = caches.withLock { $0.positions.get(k) }
        while true {
            let (have, sequence): ([CommitSpan], UInt64)
            if let c = current {
                (have, sequence) = c
            } else {
                let found = try await get(subject)
                have = try found.map { try IndexFormat.decodeSpans($0.body, where: "\(stream)#\($0.sequence)") } ?? []
                sequence = found?.sequence ?? 0
            }
            if let last = have.last, last.firstPosition >= span.firstPosition { return }
            let chunk = have + [span]
            if let written = try await put(subject, IndexFormat.encode(chunk), expected: sequence) {
                caches.withLock { $0.positions.put(k, (chunk, written)) }
                return
            }
            current = nil
        }
    }

    private func write(_ record: StreamRecord, of name: String, expected: UInt64, sequence n: UInt64) async throws {
        var expected = expected
        while true {
            if try await put(recordSubject(name), IndexFormat.encode(record), expected: expected) != nil { return }
            guard let found = try await self.record(name) else { continue }
            if found.record.sequence >= n { return }
            expected = found.subjectSequence
        }
    }

    // MARK: - Reading the index

    /// A stream's record and its subject sequence, or `nil` for a stream the store never knew.
    func record(_ name: String) async throws -> (record: StreamRecord, subjectSequence: UInt64)? {
        guard let (body, seq) = try await get(recordSubject(name)) else { return nil }
        return (try IndexFormat.decodeRecord(body, where: "\(stream)#\(seq)"), seq)
    }

    /// Where the event with this id is, if the index has it.
    func location(of id: UUID) async throws -> EventLocation? {
        guard let (body, seq) = try await get(idSubject(id)) else { return nil }
        return try IndexFormat.decodeID(body, where: "\(stream)#\(seq)")
    }

    /// Where revisions `revisions` of a stream are (every one must exist).
    func locations(of name: String, revisions: ClosedRange<UInt64>) async throws -> [RevisionLocation] {
        let ks = Array((revisions.lowerBound - 1) / IndexFormat.chunk ... (revisions.upperBound - 1) / IndexFormat.chunk)
        let chunks = try await concurrently(ks) { k -> (UInt64, [RevisionLocation]) in
            let subject = self.revisionSubject(name, chunk: k)
            let needed = Int(Swift.min(revisions.upperBound, (k + 1) * IndexFormat.chunk) - k * IndexFormat.chunk)
            if let cached = self.caches.withLock({ $0.revisions.get(subject) }), cached.chunk.count >= needed { return (k, cached.chunk) }
            let found = try await self.get(subject)
            let chunk = try found.map { try IndexFormat.decodeRevisions($0.body, where: "\(self.stream)#\($0.sequence)") } ?? []
            guard chunk.count >= needed else {
                throw StrataError.corruption(path: "\(self.stream):\(subject)", offset: 0,
                                             reason: "the index holds \(chunk.count) revisions of chunk \(k) of \(name.debugDescription), \(needed) were expected")
            }
            self.caches.withLock { $0.revisions.put(subject, (chunk, found?.sequence ?? 0)) }
            return (k, chunk)
        }
        var byChunk: [UInt64: [RevisionLocation]] = [:]
        for (k, c) in chunks { byChunk[k] = c }
        return revisions.map { r in
            let k = (r - 1) / IndexFormat.chunk
            return byChunk[k]![Int(r - 1 - k * IndexFormat.chunk)]
        }
    }

    /// The commits holding positions `positions` (every one must be stored), ascending.
    func spans(_ positions: ClosedRange<UInt64>) async throws -> [CommitSpan] {
        let ks = Array((positions.lowerBound - 1) / IndexFormat.chunk ... (positions.upperBound - 1) / IndexFormat.chunk)
        let chunks = try await concurrently(ks) { k -> [CommitSpan] in
            let needed = Swift.min(positions.upperBound, (k + 1) * IndexFormat.chunk)
            if let cached = self.caches.withLock({ $0.positions.get(k) }), let last = cached.chunk.last, last.lastPosition >= needed { return cached.chunk }
            let subject = self.positionSubject(chunk: k)
            let found = try await self.get(subject)
            let chunk = try found.map { try IndexFormat.decodeSpans($0.body, where: "\(self.stream)#\($0.sequence)") } ?? []
            guard let last = chunk.last, last.lastPosition >= needed else {
                throw StrataError.corruption(path: "\(self.stream):\(subject)", offset: 0,
                                             reason: "the index does not hold position \(needed)")
            }
            self.caches.withLock { $0.positions.put(k, (chunk, found?.sequence ?? 0)) }
            return chunk
        }
        var seen = Set<UInt64>()
        return chunks.joined().filter { $0.lastPosition >= positions.lowerBound && $0.firstPosition <= positions.upperBound && seen.insert($0.sequence).inserted }
            .sorted { $0.firstPosition < $1.firstPosition }
    }

    /// The commit stored at main sequence `sequence`.
    func commit(at sequence: UInt64) async throws -> CachedCommit {
        if let cached = caches.withLock({ $0.commits.get(sequence) }) { return cached }
        let location = "\(mainStream)#\(sequence)"
        guard let message = try await js.getMessage(stream: mainStream, sequence: sequence) else {
            throw StrataError.corruption(path: location, offset: 0, reason: "the entry is missing from the stream")
        }
        let entry = try CommitFormat.decode(headers: message.headers, body: message.bytes, where: location)
        guard case .commit(let first, let recordedAt, let events) = entry else {
            throw StrataError.corruption(path: location, offset: 0, reason: "the index points at an entry that is not a commit")
        }
        var bytes = 0
        let recorded = events.enumerated().map { i, e in
            bytes += e.event.data.count + (e.event.metadata?.count ?? 0) + 128
            return RecordedEvent(id: e.event.id, stream: e.stream, revision: e.revision, position: first + UInt64(i),
                                 recordedAtMicroseconds: recordedAt, type: e.event.type, contentType: e.event.contentType,
                                 data: e.event.data, metadata: e.event.metadata)
        }
        let commit = CachedCommit(sequence: sequence, firstPosition: first, events: recorded)
        caches.withLock { $0.commits.put(sequence, commit, cost: bytes) }
        return commit
    }

    /// The events at positions `positions` (every one must be stored), ascending.
    func events(_ positions: ClosedRange<UInt64>) async throws -> [RecordedEvent] {
        let spans = try await spans(positions)
        let commits = try await concurrently(spans) { try await self.commit(at: $0.sequence) }
        var out: [RecordedEvent] = []
        out.reserveCapacity(positions.count)
        for c in commits {
            for e in c.events where positions.contains(e.position) { out.append(e) }
        }
        return out
    }

    /// The events at these revision locations, in the given order.
    func events(at locations: [RevisionLocation]) async throws -> [RecordedEvent] {
        var seen = Set<UInt64>()
        let sequences = locations.compactMap { seen.insert($0.sequence).inserted ? $0.sequence : nil }
        let commits = try await concurrently(sequences) { try await self.commit(at: $0) }
        var bySequence: [UInt64: CachedCommit] = [:]
        for c in commits { bySequence[c.sequence] = c }
        return try locations.map { l in
            guard let e = bySequence[l.sequence]?.event(at: l.position) else {
                throw StrataError.corruption(path: "\(mainStream)#\(l.sequence)", offset: 0, reason: "the index places position \(l.position) in this commit")
            }
            return e
        }
    }

    /// Entry counts of the caches and the event bytes the cached commits hold (for stats and tests).
    var cacheCounts: (commits: Int, commitBytes: Int, revisionChunks: Int, positionChunks: Int) {
        caches.withLock { c in (c.commits.count, c.commits.cost, c.revisions.count, c.positions.count) }
    }
}

/// Runs `body` over `items` with at most `window` calls at once; answers in the items' order.
func concurrently<T: Sendable, R: Sendable>(_ items: [T], window: Int = 256,
                                            _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
    if items.count == 1 { return [try await body(items[0])] }
    var out = [R?](repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        while next < Swift.min(window, items.count) {
            let i = next
            group.addTask { (i, try await body(items[i])) }
            next += 1
        }
        while let (i, r) = try await group.next() {
            out[i] = r
            if next < items.count {
                let j = next
                group.addTask { (j, try await body(items[j])) }
                next += 1
            }
        }
    }
    return out.map { $0! }
}
