import Foundation
import Strata
import StrataJSONShapes
// Emitter options and CDC collections take a SourceIdentity: it comes with this module.
@_exported import struct StrataJSONShapes.SourceIdentity
import StrataJSON

/// How a ``CDCCollection`` records its changes.
public struct CDCOptions: Sendable, Hashable {
    /// Whether updates and deletes carry the document as it was before (`prev`).
    public var trackPrevious: Bool
    /// The identity written into every change's metadata (`"source"`), if any.
    public var source: SourceIdentity?
    /// How many times a write is planned again after another writer changed one of its
    /// documents first (each time after catching up with the store); then the conflict is thrown.
    public var maxAttempts: Int

    /// Creates options.
    public init(trackPrevious: Bool = false, source: SourceIdentity? = nil, maxAttempts: Int = 16) {
        self.trackPrevious = trackPrevious
        self.source = source
        self.maxAttempts = maxAttempts
    }
}

/// A document collection that records every write as a change event (change data capture).
///
/// Each write appends the document's event **and** its change event (`collection.insert`,
/// `collection.update` or `collection.delete` on the stream `cdc-<collection>`) in one atomic
/// append: a change is stored exactly when its write is. Whether a put is an insert or an
/// update, and the `prev` it carries, are decided against the view and enforced by the store
/// (the document's stream must still be at the revision the view applied), so a concurrent
/// writer can never make a change event lie; the write is then planned again.
///
/// Writes made through the underlying ``DocumentStore`` directly record no change.
///
/// ```swift
/// let users = CDCCollection(try await DocumentStore.open(store: store, collection: "users"),
///                           options: CDCOptions(trackPrevious: true))
/// let created = try await users.put("ada", ["name": "Ada"])         // collection.insert
/// let renamed = try await users.put("ada", ["name": "Ada L."])      // collection.update, prev {"id":"ada","name":"Ada"}
/// let gone = try await users.delete("bob")                           // nil: nothing existed, nothing recorded
/// let changes = try await users.changes(after: created.bookmark)     // [renamed]
/// ```
public final class CDCCollection: Sendable {
    /// The document collection written through.
    public let documents: DocumentStore
    /// The options.
    public let options: CDCOptions
    /// The change stream: `cdc-<collection>`.
    public let stream: String

    /// Wraps an open document collection.
    public init(_ documents: DocumentStore, options: CDCOptions = CDCOptions()) {
        self.documents = documents
        self.options = options
        self.stream = CDCChange.stream(collection: documents.collection)
    }

    /// The collection's name.
    public var name: String { documents.collection }

    // MARK: Writing

    /// Stores `data` under `key` and records `collection.insert` (no live document there) or
    /// `collection.update` (with `prev` when ``CDCOptions/trackPrevious``).
    ///
    /// Same input rules and `expectedChanges` semantics as ``DocumentStore/put(_:_:expectedChanges:)``;
    /// nothing is stored (document or change) when it throws.
    @discardableResult
    public func put(_ key: String, _ data: DocumentValue, expectedChanges: Int? = nil) async throws -> CDCChange {
        let (key, stream) = try documents.prepare(key)
        let data = try DocumentStore.validated(data, key: key)
        return try await commit {
            let entry = self.documents.view.entry(key)
            try self.check(expectedChanges, entry: entry, stream: stream)
            return [self.plannedPut(key: key, stream: stream, data: data, entry: entry)]
        }[0]
    }

    /// Stores several documents and their changes in one atomic append (all or none). Keys must be distinct.
    @discardableResult
    public func putMany(_ documents: [(key: String, data: DocumentValue)]) async throws -> [CDCChange] {
        var prepared: [(key: String, stream: String, data: DocumentValue)] = []
        prepared.reserveCapacity(documents.count)
        var seen = Set<String>()
        for (key, data) in documents {
            let (key, stream) = try self.documents.prepare(key)
            guard seen.insert(key).inserted else { throw StrataError.invalidArgument("putMany got the key \"\(key)\" twice") }
            prepared.append((key, stream, try DocumentStore.validated(data, key: key)))
        }
        return try await commit {
            prepared.map { self.plannedPut(key: $0.key, stream: $0.stream, data: $0.data, entry: self.documents.view.entry($0.key)) }
        }
    }

    /// Merges `partial` into an existing document (JSON merge patch, as
    /// ``DocumentStore/patch(_:_:expectedChanges:)``) and records `collection.update` with the
    /// merged document (and `prev` when ``CDCOptions/trackPrevious``).
    /// - Throws: `StrataError.streamNotFound(_:)` when the document does not exist.
    @discardableResult
    public func patch(_ key: String, _ partial: DocumentValue, expectedChanges: Int? = nil) async throws -> CDCChange {
        let (key, stream) = try documents.prepare(key)
        guard case .object(let members) = partial else { throw StrataError.invalidArgument("a patch must be a JSON object") }
        if let id = members["id"], id != .string(key) {
            throw StrataError.invalidArgument("a patch cannot change or remove the document's id")
        }
        try DocumentStore.checkFinite(partial)
        return try await commit {
            let entry = self.documents.view.entry(key)
            try self.check(expectedChanges, entry: entry, stream: stream)
            guard let entry, entry.live else { throw StrataError.streamNotFound(stream) }
            var merged = DocumentEvents.mergePatch(entry.data, partial)
            if merged["id"] != .string(key) { merged["id"] = .string(key) }
            return [Planned(key: key, request: AppendRequest(stream: stream, expectedRevision: .exact(entry.revision),
                                                             events: [DocumentEvents.encode(key: key, .patch(partial))]),
                            type: .update, doc: merged, prev: self.options.trackPrevious ? entry.data : nil)]
        }[0]
    }

    /// Deletes a document and records `collection.delete` (with `prev` when
    /// ``CDCOptions/trackPrevious``).
    /// - Returns: the change, or `nil` when no live document was there (nothing is stored or
    ///   recorded; with `expectedChanges > 0` that is a `wrongExpectedRevision` error instead).
    @discardableResult
    public func delete(_ key: String, expectedChanges: Int? = nil) async throws -> CDCChange? {
        let (key, stream) = try documents.prepare(key)
        return try await commit {
            let entry = self.documents.view.entry(key)
            try self.check(expectedChanges, entry: entry, stream: stream)
            return self.plannedDelete(key: key, stream: stream, entry: entry).map { [$0] } ?? []
        }.first
    }

    /// Deletes the documents that exist among `keys` in one atomic append, recording a change
    /// for each; missing keys are skipped.
    @discardableResult
    public func deleteMany(_ keys: [String]) async throws -> [CDCChange] {
        var prepared: [(key: String, stream: String)] = []
        var seen = Set<String>()
        for key in keys {
            let (key, stream) = try documents.prepare(key)
            if seen.insert(key).inserted { prepared.append((key, stream)) }
        }
        return try await commit {
            prepared.compactMap { self.plannedDelete(key: $0.key, stream: $0.stream, entry: self.documents.view.entry($0.key)) }
        }
    }

    /// Deletes every document in one atomic append, recording a `collection.delete` for each
    /// (in key order).
    @discardableResult
    public func clear() async throws -> [CDCChange] {
        try documents.checkOpen()
        return try await commit {
            let keys = self.documents.view.liveKeys().sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return try keys.compactMap { key in
                self.plannedDelete(key: key, stream: try DocumentNaming.stream(collection: self.name, key: key),
                                   entry: self.documents.view.entry(key))
            }
        }
    }

    /// Records a change without writing a document (dotdo's `emitChange`): for changes made
    /// elsewhere that downstream consumers should see.
    /// - Throws: `StrataError.invalidArgument(_:)` when an insert or update has no
    ///   object `doc`, a delete has a `doc`, or `prev` is not an object.
    @discardableResult
    public func emitChange(_ type: CDCChange.Operation, docId: String, doc: DocumentValue? = nil,
                           prev: DocumentValue? = nil) async throws -> CDCChange {
        let (docId, _) = try documents.prepare(docId)
        switch type {
        case .insert, .update:
            guard case .object? = doc else { throw StrataError.invalidArgument("a \(type.rawValue) change needs doc, a JSON object") }
        case .delete:
            guard doc == nil else { throw StrataError.invalidArgument("a collection.delete change has no doc (put the old document in prev)") }
        }
        if let prev, prev.objectValue == nil { throw StrataError.invalidArgument("prev must be a JSON object") }
        if let doc { try DocumentStore.checkFinite(doc) }
        if let prev { try DocumentStore.checkFinite(prev) }
        let ts = Self.now()
        let event = CDCChange.event(type, collection: name, docId: docId, doc: doc, prev: prev, ts: ts, source: options.source)
        let result = try await documents.store.append(to: stream, events: [event])
        return CDCChange(type: type, collection: name, docId: docId, doc: doc, prev: prev, bookmark: result.firstPosition,
                         ts: ts, source: options.source, eventId: event.id)
    }

    // MARK: Reading (records nothing)

    /// The document under `key`, or `nil`.
    public func get(_ key: String) throws -> Document? { try documents.get(key) }

    /// Whether a document is stored under `key`.
    public func has(_ key: String) throws -> Bool { try documents.get(key) != nil }

    /// The documents matching a filter (see ``DocumentFilter``), shaped by `options`.
    public func find(_ filter: DocumentValue = [:], options: QueryOptions = QueryOptions()) throws -> [Document] {
        try documents.query(filter, options: options)
    }

    /// The number of documents matching a filter.
    public func count(_ filter: DocumentValue = [:]) throws -> Int { try documents.count(filter) }

    /// Every document, in key order unless `options` sort them.
    public func list(options: QueryOptions = QueryOptions()) throws -> [Document] {
        try documents.query(DocumentFilter.all, options: options)
    }

    /// Every key, sorted by UTF-8 bytes.
    public func keys() throws -> [String] { try documents.keys() }

    /// The recorded changes with a bookmark greater than `bookmark`, oldest first, at most `limit`.
    public func changes(after bookmark: UInt64 = 0, limit: Int? = nil) async throws -> [CDCChange] {
        try documents.checkOpen()
        return try await DocumentTimeline(store: documents.store).changes(of: name, after: bookmark, limit: limit)
    }

    /// Every version of a document the log holds, with its position, time and operation (see
    /// ``DocumentTimeline/history(of:in:after:limit:)``).
    public func history(_ key: String) async throws -> [DocumentVersion] {
        try await DocumentTimeline(store: documents.store).history(of: key, in: name)
    }

    // MARK: Planning and committing

    /// One document event planned against the view, with the change it records.
    struct Planned {
        let key: String
        let request: AppendRequest
        let type: CDCChange.Operation
        let doc: DocumentValue?
        let prev: DocumentValue?
    }

    static func now() -> String { UTCTime.iso8601(currentMicroseconds(), fractionDigits: 3) }

    /// The expected revision that holds only while the document is as the view last saw it.
    static func expectedRevision(_ entry: DocumentView.Entry?) -> ExpectedRevision {
        entry.map { .exact($0.revision) } ?? .noStream
    }

    private func check(_ expectedChanges: Int?, entry: DocumentView.Entry?, stream: String) throws {
        guard let expected = expectedChanges else { return }
        guard expected >= 0 else { throw StrataError.invalidArgument("expectedChanges must not be negative") }
        let actual = entry?.live == true ? UInt64(entry!.changes) : nil
        if expected == 0 ? actual != nil : actual != UInt64(expected) {
            throw documents.conflict(stream, expected, actual)
        }
    }

    func plannedPut(key: String, stream: String, data: DocumentValue, entry: DocumentView.Entry?) -> Planned {
        let live = entry?.live == true
        var stored = data
        if stored["id"] != .string(key) { stored["id"] = .string(key) }
        return Planned(key: key, request: AppendRequest(stream: stream, expectedRevision: Self.expectedRevision(entry),
                                                        events: [DocumentEvents.encode(key: key, .put(data))]),
                       type: live ? .update : .insert, doc: stored, prev: live && options.trackPrevious ? entry!.data : nil)
    }

    func plannedDelete(key: String, stream: String, entry: DocumentView.Entry?) -> Planned? {
        guard let entry, entry.live else { return nil }
        return Planned(key: key, request: AppendRequest(stream: stream, expectedRevision: .exact(entry.revision),
                                                        events: [DocumentEvents.encode(key: key, .delete)]),
                       type: .delete, doc: nil, prev: options.trackPrevious ? entry.data : nil)
    }

    /// Plans, then appends the document events and their change events in one append. When the
    /// store refuses an expected revision (another writer was first), catches up and plans again.
    private func commit(_ plan: @escaping () throws -> [Planned]) async throws -> [CDCChange] {
        var attempt = 0
        while true {
            attempt += 1
            let planned = try plan()
            guard !planned.isEmpty else { return [] }
            let ts = Self.now()
            let events = planned.map {
                CDCChange.event($0.type, collection: name, docId: $0.key, doc: $0.doc, prev: $0.prev, ts: ts, source: options.source)
            }
            let companion = AppendRequest(stream: stream, expectedRevision: .any, events: events)
            let results: [AppendResult]
            do {
                results = try await documents.write(planned.map(\.request), companions: [companion]).companions
            } catch StrataError.wrongExpectedRevision where attempt < max(1, options.maxAttempts) {
                try await documents.sync(timeout: documents.options.writeTimeout)
                continue
            }
            let first = results[0].firstPosition
            return planned.enumerated().map { i, p in
                CDCChange(type: p.type, collection: name, docId: p.key, doc: p.doc, prev: p.prev, bookmark: first + UInt64(i),
                          ts: ts, source: options.source, eventId: events[i].id)
            }
        }
    }
}
