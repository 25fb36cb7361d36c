import Foundation
@_spi(Machinery) import Strata
import Synchronization

/// What ``DocumentSnapshots/create(storeId:collections:)`` wrote.
public struct SnapshotInfo: Sendable, Hashable {
    /// The snapshot's key: `snapshots/<storeId>/<YYYY-MM-DDTHH-MM-SS-mmmZ>.json`.
    public let key: String
    /// The store id (the file's `id`).
    public let storeId: String
    /// When it was taken: ISO 8601 UTC with milliseconds.
    public let timestamp: String
    /// The collections it holds.
    public let collections: [String]
    /// The documents it holds, over all collections.
    public let totalDocs: Int
    /// Each collection's view position the snapshot reflects.
    public let positions: [String: UInt64]
}

/// A snapshot file found by ``DocumentSnapshots/list(storeId:limit:)``.
public struct SnapshotEntry: Sendable, Hashable {
    /// The snapshot's key.
    public let key: String
    /// When it was taken: ISO 8601 UTC with milliseconds.
    public let timestamp: String
    /// The file's size in bytes.
    public let bytes: Int
}

/// Snapshots of document collections as JSON files under a root directory (dotdo's
/// `createSnapshot`/`restoreSnapshot`/`listSnapshots`/`deleteSnapshot`; format version 1 in
/// docs/CDC.md).
///
/// ```swift
/// let snapshots = DocumentSnapshots(root: "./backups")
/// let info = try await snapshots.create(storeId: "shop-1", collections: [users, orders])
/// try await snapshots.restore(info.key, into: [users, orders])   // one atomic append
/// let recent = try snapshots.list(storeId: "shop-1", limit: 10)   // newest first
/// try snapshots.delete(recent.last!.key)
/// ```
///
/// Files are written atomically and durably (`DurableFile`); keys and store ids are
/// checked so that no input reaches outside `root/snapshots/<storeId>/`.
public struct DocumentSnapshots: Sendable {
    /// The directory holding `snapshots/`.
    public let root: String
    /// Within one process, two snapshots of a store never get the same millisecond name.
    private static let lastMilliseconds = Mutex<[String: Int64]>([:])

    /// Snapshots under `root` (created when the first snapshot is written).
    public init(root: String) { self.root = root }

    /// Writes the collections' current documents (after catching up with the store) to a new
    /// snapshot file.
    ///
    /// Each collection is read at one position of its view (recorded in `positions`); when
    /// other writers run meanwhile, different collections may be read at different positions.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad store id, no or repeated
    ///   collections, or a document holding an `_id` member (the format's key field, which would
    ///   lose it); `StrataError.io(path:operation:reason:)` when writing fails.
    public func create(storeId: String, collections: [DocumentStore]) async throws -> SnapshotInfo {
        try SnapshotFile.validateStoreId(storeId)
        let names = collections.map(\.collection)
        guard !names.isEmpty else { throw StrataError.invalidArgument("a snapshot needs at least one collection") }
        guard Set(names).count == names.count else { throw StrataError.invalidArgument("a snapshot names a collection twice: \(names)") }
        var data: [String: [String: DocumentValue]] = [:]
        var positions: [String: UInt64] = [:]
        for documents in collections {
            try await documents.sync(timeout: documents.options.writeTimeout)
            let (position, contents) = documents.view.withLock { () -> (UInt64, [String: DocumentValue]) in
                var contents: [String: DocumentValue] = [:]
                for (key, entry) in documents.view.entries where entry.live { contents[key] = entry.data }
                return (documents.view.position, contents)
            }
            if let key = contents.first(where: { $0.value["_id"] != nil })?.key {
                throw StrataError.invalidArgument("document \"\(key)\" of \(documents.collection) has an _id member, which a snapshot uses for the key")
            }
            data[documents.collection] = contents
            positions[documents.collection] = position
        }
        let folder = (root as NSString).appendingPathComponent(SnapshotFile.directory + "/" + storeId)
        try DurableFile.createDirectory(folder)
        let milliseconds = Self.lastMilliseconds.withLock { last -> Int64 in
            var ms = currentMicroseconds() / 1000
            if let previous = last[folder], ms <= previous { ms = previous + 1 }
            last[folder] = ms
            return ms
        }
        let fileName = SnapshotFile.fileName(milliseconds: milliseconds)
        let timestamp = SnapshotFile.timestamp(fileName: fileName)!
        let contents = SnapshotFile.Contents(id: storeId, timestamp: timestamp, collections: names, data: data, positions: positions)
        try DurableFile.write(SnapshotFile.encode(contents), to: (folder as NSString).appendingPathComponent(fileName))
        return SnapshotInfo(key: SnapshotFile.directory + "/" + storeId + "/" + fileName, storeId: storeId, timestamp: timestamp,
                            collections: names, totalDocs: contents.totalDocs, positions: positions)
    }

    /// Makes each collection the snapshot names hold exactly its documents, all in one atomic
    /// append (written as `DocumentTimeline.restore(_:to:)` writes).
    ///
    /// `collections` must include every collection the snapshot names; others are left alone.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad key, a missing snapshot or
    ///   a named collection not given; `StrataError.corruption(path:offset:reason:)` /
    ///   `StrataError.unsupportedFormat(path:found:supported:)` for a bad file.
    ///   Nothing is stored when it throws.
    @discardableResult
    public func restore(_ key: String, into collections: [DocumentStore]) async throws -> RestoreReport {
        try await restore(key, targets: collections.map { ($0, nil) })
    }

    /// Restores a snapshot into CDC collections, recording every write as a change.
    @discardableResult
    public func restore(_ key: String, into collections: [CDCCollection]) async throws -> RestoreReport {
        try await restore(key, targets: collections.map { ($0.documents, $0.options) })
    }

    /// Whether a snapshot file is there.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad key (nothing is touched).
    public func exists(_ key: String) throws -> Bool {
        FileManager.default.fileExists(atPath: try path(key))
    }

    /// What a snapshot holds, as ``create(storeId:collections:)`` reported it, read from its file.
    /// - Throws: as ``read(_:)``.
    public func info(_ key: String) throws -> SnapshotInfo {
        let contents = try load(key)
        let (storeId, fileName) = try SnapshotFile.parseKey(key)
        return SnapshotInfo(key: key, storeId: contents.id.isEmpty ? storeId : contents.id,
                            timestamp: contents.timestamp.isEmpty ? SnapshotFile.timestamp(fileName: fileName)! : contents.timestamp,
                            collections: contents.collections, totalDocs: contents.totalDocs, positions: contents.positions)
    }

    /// The size of a snapshot's file in bytes (to decide whether to read it whole).
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad key or a missing snapshot.
    public func byteCount(_ key: String) throws -> Int {
        let path = try path(key)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else { throw Self.missing(key) }
        return size.intValue
    }

    /// Reads a snapshot without restoring it: collection → key → data.
    public func read(_ key: String) throws -> [String: [String: DocumentValue]] {
        try load(key).data
    }

    /// The snapshots of a store, newest first, at most `limit`.
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad store id.
    public func list(storeId: String, limit: Int? = nil) throws -> [SnapshotEntry] {
        try SnapshotFile.validateStoreId(storeId)
        let folder = (root as NSString).appendingPathComponent(SnapshotFile.directory + "/" + storeId)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var result: [SnapshotEntry] = []
        for name in names.sorted(by: >) {
            if let limit, result.count >= limit { break }
            guard let timestamp = SnapshotFile.timestamp(fileName: name) else { continue }
            let path = (folder as NSString).appendingPathComponent(name)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            result.append(SnapshotEntry(key: SnapshotFile.directory + "/" + storeId + "/" + name, timestamp: timestamp, bytes: size))
        }
        return result
    }

    /// Deletes a snapshot file (durably).
    /// - Throws: `StrataError.invalidArgument(_:)` for a bad key or a missing snapshot.
    public func delete(_ key: String) throws {
        let path = try path(key)
        guard FileManager.default.fileExists(atPath: path) else { throw Self.missing(key) }
        try DurableFile.remove(path)
    }

    /// Removes a document from every snapshot file that holds it (erasure: the document's
    /// stream was erased with `DocumentStore.erase(_:reason:)`), rewriting each file durably;
    /// returns how many files changed.
    @discardableResult
    public func erase(collection: String, key: String) throws -> Int {
        let folder = (root as NSString).appendingPathComponent(SnapshotFile.directory)
        var changed = 0
        for storeId in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let directory = (folder as NSString).appendingPathComponent(storeId)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where SnapshotFile.timestamp(fileName: name) != nil {
                let path = (directory as NSString).appendingPathComponent(name)
                guard let bytes = try DurableFile.read(path) else { continue }
                var contents = try SnapshotFile.decode(bytes, path: path)
                guard contents.data[collection]?.removeValue(forKey: key) != nil else { continue }
                try DurableFile.write(SnapshotFile.encode(contents), to: path)
                changed += 1
            }
        }
        return changed
    }

    // MARK: Internals

    private func path(_ key: String) throws -> String {
        let (storeId, fileName) = try SnapshotFile.parseKey(key)
        return (root as NSString).appendingPathComponent(SnapshotFile.directory + "/" + storeId + "/" + fileName)
    }

    private static func missing(_ key: String) -> StrataError { .invalidArgument("there is no snapshot \(key)") }

    private func load(_ key: String) throws -> SnapshotFile.Contents {
        let path = try path(key)
        guard let bytes = try DurableFile.read(path) else { throw Self.missing(key) }
        return try SnapshotFile.decode(bytes, path: path)
    }

    /// Restores a snapshot into collections of which some record changes: each target's
    /// `CDCOptions` (nil: a plain collection) says how its writes are recorded.
    @discardableResult
    public func restore(_ key: String, targets: [(DocumentStore, CDCOptions?)]) async throws -> RestoreReport {
        let contents = try load(key)
        var byName: [String: (DocumentStore, CDCOptions?)] = [:]
        for target in targets { byName[target.0.collection] = target }
        var replace: [ReplaceTarget] = []
        for name in contents.collections {
            guard let (documents, cdc) = byName[name] else {
                throw StrataError.invalidArgument("snapshot \(key) holds collection \(name): pass its DocumentStore to restore it")
            }
            replace.append(ReplaceTarget(documents: documents, cdc: cdc, contents: contents.data[name] ?? [:]))
        }
        return try await DocumentStore.replace(replace)
    }
}
