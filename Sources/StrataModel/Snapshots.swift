import Foundation
@_spi(Machinery) import Strata
import StrataJSON

/// A saved state of a reducer or aggregate over one stream, at a revision.
public struct Snapshot: Sendable, Hashable, Codable {
    /// The reducer's (or aggregate's) name.
    public var reducer: String
    /// The stream.
    public var stream: String
    /// The reducer version that produced the state; other versions ignore the snapshot.
    public var reducerVersion: Int
    /// The revision of the last event folded into the state.
    public var revision: UInt64
    /// The first revision a read of the stream returned when the snapshot was taken; when it
    /// changes (the stream was deleted and recreated, or truncated) the snapshot is ignored.
    public var firstRevision: UInt64
    /// The state, as JSON.
    public var state: Data
    /// When it was taken, in microseconds since 1970 (UTC).
    public var takenAtMicroseconds: Int64

    /// Creates a snapshot.
    public init(reducer: String, stream: String, reducerVersion: Int, revision: UInt64, firstRevision: UInt64,
                state: Data, takenAtMicroseconds: Int64 = currentMicroseconds()) {
        self.reducer = reducer
        self.stream = stream
        self.reducerVersion = reducerVersion
        self.revision = revision
        self.firstRevision = firstRevision
        self.state = state
        self.takenAtMicroseconds = takenAtMicroseconds
    }
}

/// When a repository saves snapshots on its own.
public enum SnapshotPolicy: Sendable, Hashable {
    /// Only when asked (``Repository/snapshot(stream:using:)``).
    case manual
    /// When a load folded at least this many events after the last snapshot.
    case every(Int)
}

/// Where snapshots live, keyed by (reducer name, stream).
public protocol SnapshotStore: Sendable {
    /// The snapshot for a reducer and stream, if any.
    func load(reducer: String, stream: String) async throws -> Snapshot?
    /// Saves (replaces) a snapshot.
    func save(_ snapshot: Snapshot) async throws
    /// Removes a snapshot; removing none does nothing.
    func delete(reducer: String, stream: String) async throws
}

/// Snapshots in memory.
public final class MemorySnapshotStore: SnapshotStore, @unchecked Sendable {
    private let lock = NSLock()
    private var snapshots: [String: Snapshot] = [:]

    /// Creates an empty store.
    public init() {}

    public func load(reducer: String, stream: String) async throws -> Snapshot? {
        lock.withLock { snapshots[reducer + "\u{0}" + stream] }
    }

    public func save(_ snapshot: Snapshot) async throws {
        lock.withLock { snapshots[snapshot.reducer + "\u{0}" + snapshot.stream] = snapshot }
    }

    public func delete(reducer: String, stream: String) async throws {
        _ = lock.withLock { snapshots.removeValue(forKey: reducer + "\u{0}" + stream) }
    }
}

/// Snapshots as files: `DIRECTORY/<reducer>/<stream>.json`, names encoded with
/// `SafeFileName`, each replaced atomically (format in docs/MODEL.md, version 1).
public struct FileSnapshotStore: SnapshotStore {
    /// The directory.
    public let directory: String

    /// Opens (creating when missing) a snapshot directory.
    public init(directory: String) throws {
        self.directory = directory
        try DurableFile.createDirectory(directory)
    }

    private func path(_ reducer: String, _ stream: String) -> String {
        directory + "/" + SafeFileName.encode(reducer) + "/" + SafeFileName.encode(stream) + ".json"
    }

    public func load(reducer: String, stream: String) async throws -> Snapshot? {
        let path = path(reducer, stream)
        guard let data = try DurableFile.read(path) else { return nil }
        guard let file = try? StrataJSONDecoder().decode(SnapshotFile.self, from: data) else {
            throw StrataError.corruption(path: path, offset: 0, reason: "not a snapshot file")
        }
        guard file.format == SnapshotFile.currentFormat else {
            throw StrataError.unsupportedFormat(path: path, found: "snapshot v\(file.format)", supported: "snapshot v\(SnapshotFile.currentFormat)")
        }
        return file.snapshot
    }

    public func save(_ snapshot: Snapshot) async throws {
        try DurableFile.createDirectory(directory + "/" + SafeFileName.encode(snapshot.reducer))
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(SnapshotFile(format: SnapshotFile.currentFormat, snapshot: snapshot)),
                              to: path(snapshot.reducer, snapshot.stream))
    }

    public func delete(reducer: String, stream: String) async throws {
        try DurableFile.remove(path(reducer, stream))
    }

    struct SnapshotFile: Codable {
        static let currentFormat = 1
        var format: Int
        var snapshot: Snapshot
    }
}
