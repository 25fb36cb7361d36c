import Foundation
@_spi(Machinery) import Strata
import StrataConsumers
import StrataJSON

/// The view's snapshot file: the whole state and the checkpoint it reflects, in one JSON file
/// written atomically (format version 1, docs/DOCUMENTS.md):
///
/// ```
/// {"version":1,"collection":"users","position":1234,
///  "documents":[{"key":"u1","revision":3,"changes":2,"created":1700000000000,"modified":1700000000123,"data":{…}}],
///  "tombstones":[{"key":"u2","revision":5,"deleted":1700000000456}],
///  "parked":[{…ParkedEvent…}]}
/// ```
///
/// Indexes are not stored: they are rebuilt when the file is loaded (so declared indexes may
/// change between runs).
enum ViewSnapshot {
    static let version: Int64 = 1

    static func encode(_ view: DocumentView) throws -> [UInt8] {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try view.withLock {
            var out: [UInt8] = []
            out.reserveCapacity(view.entries.count * 128 + 256)
            out.append(contentsOf: Array(#"{"version":1,"collection":"#.utf8))
            DocumentJSON.writeString(view.collection, into: &out)
            out.append(contentsOf: Array(#","position":"#.utf8))
            DocumentJSON.writeInt(Int64(view.position), into: &out)
            out.append(contentsOf: Array(#","documents":["#.utf8))
            var first = true
            for (key, entry) in view.entries where entry.live {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: Array(#"{"key":"#.utf8))
                DocumentJSON.writeString(key, into: &out)
                out.append(contentsOf: Array(#","revision":"#.utf8))
                DocumentJSON.writeInt(Int64(entry.revision), into: &out)
                out.append(contentsOf: Array(#","changes":"#.utf8))
                DocumentJSON.writeInt(Int64(entry.changes), into: &out)
                out.append(contentsOf: Array(#","created":"#.utf8))
                DocumentJSON.writeInt(entry.createdMs, into: &out)
                out.append(contentsOf: Array(#","modified":"#.utf8))
                DocumentJSON.writeInt(entry.modifiedMs, into: &out)
                out.append(contentsOf: Array(#","data":"#.utf8))
                DocumentJSON.write(entry.data, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: Array(#"],"tombstones":["#.utf8))
            first = true
            for (key, entry) in view.entries where !entry.live {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: Array(#"{"key":"#.utf8))
                DocumentJSON.writeString(key, into: &out)
                out.append(contentsOf: Array(#","revision":"#.utf8))
                DocumentJSON.writeInt(Int64(entry.revision), into: &out)
                out.append(contentsOf: Array(#","deleted":"#.utf8))
                DocumentJSON.writeInt(entry.modifiedMs, into: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: Array(#"],"parked":"#.utf8))
            out.append(contentsOf: try encoder.encode(view.parked))
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    /// Loads a snapshot file into the view; `false` when there is none.
    static func load(_ path: String, into view: DocumentView) throws -> Bool {
        guard let bytes = try DurableFile.read(path) else { return false }
        func corrupt(_ reason: String) -> StrataError { .corruption(path: path, offset: 0, reason: reason) }
        let root: DocumentValue
        do { root = try DocumentJSON.parse(bytes) } catch { throw corrupt("not a document view snapshot: \(error)") }
        guard let version = root["version"]?.intValue else { throw corrupt("no version") }
        guard version == Self.version else {
            throw StrataError.unsupportedFormat(path: path, found: "document view snapshot v\(version)", supported: "document view snapshot v\(Self.version)")
        }
        guard root["collection"]?.stringValue == view.collection else {
            throw corrupt("the snapshot belongs to collection \(root["collection"].map { "\($0)" } ?? "?"), not \(view.collection)")
        }
        guard let position = root["position"]?.intValue, position >= 0,
              let documents = root["documents"]?.arrayValue, let tombstones = root["tombstones"]?.arrayValue,
              let parkedJSON = root["parked"] else { throw corrupt("missing position, documents, tombstones or parked") }
        var entries: [String: DocumentView.Entry] = [:]
        entries.reserveCapacity(documents.count + tombstones.count)
        for item in documents {
            guard let key = item["key"]?.stringValue, let revision = item["revision"]?.intValue,
                  let changes = item["changes"]?.intValue, let created = item["created"]?.intValue,
                  let modified = item["modified"]?.intValue, let data = item["data"], data.objectValue != nil else {
                throw corrupt("a document entry lacks key, revision, changes, created, modified or data")
            }
            entries[key] = .init(data: data, changes: Int(changes), createdMs: created, modifiedMs: modified, revision: UInt64(revision), live: true)
        }
        for item in tombstones {
            guard let key = item["key"]?.stringValue, let revision = item["revision"]?.intValue,
                  let deleted = item["deleted"]?.intValue else { throw corrupt("a tombstone lacks key, revision or deleted") }
            entries[key] = .init(data: .null, changes: 0, createdMs: 0, modifiedMs: deleted, revision: UInt64(revision), live: false)
        }
        let parked: [ParkedEvent]
        do { parked = try StrataJSONDecoder().decode([ParkedEvent].self, from: Data(parkedJSON.jsonBytes)) } catch {
            throw corrupt("unreadable parked events: \(error)")
        }
        view.restore(entries: entries, position: UInt64(position), parked: parked)
        return true
    }
}

/// The view's checkpoint store: the handler's transaction is the view itself; the checkpoint is
/// the view's position, and both are saved together in the snapshot file (when persistence is
/// on) every so often and on close. Re-delivery after a crash is harmless: the view skips events
/// at or below the position it has applied.
final class ViewCheckpointStore: CheckpointStore, @unchecked Sendable {
    typealias Transaction = DocumentView

    let view: DocumentView
    let snapshotPath: String?
    let snapshotEvery: Int
    private let lock = NSLock()
    private var savedPosition: UInt64 = 0
    private var lastSaveError: String?
    private var boundInMemory: StoreIdentity?

    init(view: DocumentView, snapshotPath: String?, snapshotEvery: Int) {
        self.view = view
        self.snapshotPath = snapshotPath
        self.snapshotEvery = max(1, snapshotEvery)
        self.savedPosition = view.withLock { view.position }
    }

    /// The error of the last failed snapshot save, if the last save failed.
    var saveError: String? { lock.withLock { lastSaveError } }

    func checkpoint(for consumer: String) async throws -> UInt64? {
        let position = view.withLock { view.position }
        return position == 0 ? nil : position
    }

    func commit<Result: Sendable>(consumer: String, through position: UInt64,
                                  _ work: (DocumentView) async throws -> Result) async throws -> Result {
        let result = try await work(view)
        let (current, live) = view.withLock { () -> (UInt64, Int) in
            view.position = max(view.position, position)
            return (view.position, view.liveCount)
        }
        // Saves grow with the state, so they are spaced in proportion to it: the cost per event stays constant.
        let due = current - lock.withLock { savedPosition } >= UInt64(max(snapshotEvery, live / 2))
        if due { saveSnapshot() }
        return result
    }

    /// Writes the snapshot file now (no-op without persistence). A failure is kept as
    /// ``saveError`` and retried at the next save; it never stops the view.
    @discardableResult
    func saveSnapshot() -> Bool {
        guard let snapshotPath else { return true }
        do {
            let bytes = try ViewSnapshot.encode(view)
            let position = view.withLock { view.position }
            try DurableFile.write(bytes, to: snapshotPath)
            lock.withLock { savedPosition = position; lastSaveError = nil }
            return true
        } catch {
            lock.withLock { lastSaveError = "\(error)" }
            return false
        }
    }

    func resetCheckpoint(for consumer: String, to position: UInt64?) async throws {
        guard position == nil || position == 0 else {
            throw StrataError.unsupported("a document view can only be reset to the start (it then replays everything)")
        }
        view.restore(entries: [:], position: 0, parked: [])
        lock.withLock { savedPosition = 0 }
        saveSnapshot()
    }

    func park(_ entry: ParkedEvent) async throws {
        view.withLock {
            view.parked.removeAll { $0.position == entry.position }
            view.parked.append(entry)
            view.parked.sort { $0.position < $1.position }
        }
    }

    func parked(consumer: String, after position: UInt64?, limit: Int) async throws -> [ParkedEvent] {
        view.withLock { Array(view.parked.lazy.filter { $0.position > (position ?? 0) }.prefix(max(0, limit))) }
    }

    func unpark(consumer: String, position: UInt64) async throws {
        view.withLock { view.parked.removeAll { $0.position == position } }
    }

    /// The store the snapshot is bound to (`.{snapshot file name}.store.json` beside it); in
    /// memory without persistence.
    func boundStore(consumer: String) async throws -> StoreIdentity? {
        guard let binding else { return lock.withLock { boundInMemory } }
        return try binding.load()
    }

    func bind(consumer: String, toStore identity: StoreIdentity) async throws {
        guard let binding else { return lock.withLock { boundInMemory = identity } }
        try binding.save(identity)
    }

    private var binding: StoreBindingFile? {
        snapshotPath.map { path in
            let name = (path as NSString).lastPathComponent
            return StoreBindingFile(path: (path as NSString).deletingLastPathComponent + "/." + name + ".store.json")
        }
    }
}
