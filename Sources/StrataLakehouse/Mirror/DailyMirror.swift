import Foundation
@_spi(Machinery) import Strata
import StrataConsumers
import StrataJSON
#if canImport(Glibc)
import Glibc
#endif

/// A live mirror of a store as one JSON Lines file per UTC day, the way eventlog users `grep` and
/// `tail -f` their logs (docs/LAKEHOUSE.md, "Daily mirror"): `events-2026-12-07.jsonl`,
/// `events-2026-12-08.jsonl`, … in a folder, each line an event in the lakehouse line format
/// (version 1), appended as events are stored.
///
/// ```swift
/// let mirror = try DailyMirror(store: store, configuration: DailyMirror.Configuration(directory: "/var/log/strata"))
/// try await mirror.mirrorAvailable()   // up to the head, then return
/// try await mirror.run()               // follow until the task is cancelled
/// ```
///
/// Exactly once, across crashes: after each batch the lines are fsynced, then a state file
/// (`.strata-mirror.json`: the position mirrored through, the current file and its length) is
/// replaced atomically. A restart cuts the current file back to that length and removes newer
/// day files, then goes on after that position.
public final class DailyMirror: Sendable {
    /// What to mirror and where.
    public struct Configuration: Sendable {
        /// The folder of the day files (created when missing).
        public var directory: String
        /// The file name, with `%y` (4 digits), `%m` and `%d` (2 each) exactly once: the UTC day of
        /// the events' recorded time.
        public var pattern: String
        /// Which events (default: all).
        public var filter: EventFilter
        /// Events per batch (one fsync and one state save each).
        public var batchSize: Int

        /// Creates a configuration.
        public init(directory: String, pattern: String = "events-%y-%m-%d.jsonl", filter: EventFilter = EventFilter(), batchSize: Int = 1000) {
            self.directory = directory
            self.pattern = pattern
            self.filter = filter
            self.batchSize = batchSize
        }
    }

    /// What a run did.
    public struct Summary: Sendable, Hashable {
        /// Lines written.
        public var events = 0
        /// The `$all` position mirrored through.
        public var position: UInt64 = 0
        /// The file written last, if any.
        public var file: String?
    }

    /// The name of the state file inside the folder.
    public static let stateFileName = ".strata-mirror.json"

    /// The store mirrored.
    public let store: any EventStore
    /// The settings.
    public let configuration: Configuration

    /// Creates a mirror; nothing runs until ``mirrorAvailable()`` or ``run()``.
    /// - Throws: `StrataError.invalidArgument` for a pattern without `%y`, `%m` and `%d` once
    ///   each, with a `/`, or a batch size below 1.
    public init(store: any EventStore, configuration: Configuration) throws {
        pattern = try DailyFilePattern(configuration.pattern)
        guard configuration.batchSize >= 1 else { throw StrataError.invalidArgument("the batch size must be at least 1") }
        self.store = store
        self.configuration = configuration
    }

    private let pattern: DailyFilePattern

    /// Mirrors everything stored up to the head when called, then returns.
    @discardableResult
    public func mirrorAvailable() async throws -> Summary {
        let head = try await store.headPosition()
        return try await mirror(until: head)
    }

    /// Mirrors continuously: catches up, then follows new events until the task is cancelled,
    /// and returns what it did (everything written is saved).
    @discardableResult
    public func run() async throws -> Summary {
        try await mirror(until: nil)
    }

    // MARK: - The loop

    private struct State: Codable {
        var version = 1
        var position: UInt64 = 0
        var file: String?
        var length: Int = 0
    }

    private func mirror(until head: UInt64?) async throws -> Summary {
        let directory = configuration.directory
        try DurableFile.createDirectory(directory)
        var state = try recover()
        // The folder belongs to one store, and its position must not be beyond that store's head.
        try StoreBindingFile(path: directory + "/.strata-mirror-store.json").bind(try await store.identity(), consumer: "daily mirror \(directory)")
        try await store.checkResumable(from: state.position, consumer: "daily mirror \(directory)")
        var summary = Summary(events: 0, position: state.position, file: state.file)
        var writer = try state.file.map { try DayFile(path: directory + "/" + $0, length: state.length) }
        defer { writer?.close() }
        var encoder = EventLineEncoder()
        while true {
            if let head, state.position >= head { break }
            if head == nil && Task.isCancelled { break }
            let page = try await store.readAllPage(from: .at(state.position + 1), direction: .forward,
                                                   filter: configuration.filter, maxCount: configuration.batchSize)
            var lines: [UInt8] = []
            for event in page.events {
                let name = pattern.fileName(day: DailyFilePattern.utcDay(event.recordedAtMicroseconds))
                // Recorded times do not go back along $all; a backend whose clock did keeps its
                // event in the current file, so files stay append-only and in order.
                if name != state.file && (state.file == nil || name > state.file!) {
                    try writer?.write(lines)
                    lines.removeAll(keepingCapacity: true)
                    writer?.close()
                    writer = try DayFile(path: directory + "/" + name, length: nil)
                    state.file = name
                }
                encoder.append(event, to: &lines)
                summary.events += 1
            }
            try writer?.write(lines)
            try writer?.sync()
            let through = page.next.map { $0 - 1 } ?? Swift.max(state.position, page.scannedThrough)
            if through > state.position || !page.events.isEmpty {
                state.position = Swift.max(state.position, through)
                state.length = writer?.length ?? 0
                try save(state)
            }
            summary.position = state.position
            summary.file = state.file
            if page.next == nil {
                // Caught up with what the store had.
                if head != nil { break }
                do { try await store.waitForAppends(after: state.position) } catch is CancellationError { break }
            }
        }
        return summary
    }

    /// Reads the state and cuts back what a crash left after it: the current file's tail, and
    /// day files newer than it. Without a state file, the folder must hold no day file.
    private func recover() throws -> State {
        let directory = configuration.directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let days = names.filter { pattern.day(of: $0) != nil }
        guard let bytes = try DurableFile.read(directory + "/" + Self.stateFileName) else {
            guard days.isEmpty else {
                throw StrataError.invalidArgument("\(directory) holds day files (\(days.sorted().first!)) but no \(Self.stateFileName): it is not this mirror's folder; choose an empty one")
            }
            let initial = State()
            try save(initial)
            return initial
        }
        let state: State
        do { state = try StrataJSONDecoder().decode(State.self, from: bytes) } catch {
            throw StrataError.corruption(path: directory + "/" + Self.stateFileName, offset: 0, reason: "not a mirror state: \(error)")
        }
        guard state.version == 1 else {
            throw StrataError.unsupportedFormat(path: directory + "/" + Self.stateFileName, found: "version \(state.version)", supported: "version 1")
        }
        for name in days where state.file == nil || name > state.file! {
            try DurableFile.remove(directory + "/" + name)
        }
        if let file = state.file {
            let path = directory + "/" + file
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size >= state.length else {
                throw StrataError.corruption(path: path, offset: Int64(size), reason: "the day file is shorter (\(size) bytes) than the mirror state says (\(state.length)); it was changed by someone else")
            }
            if size > state.length {
                guard truncate(path, off_t(state.length)) == 0 else {
                    throw StrataError.io(path: path, operation: "truncate", reason: String(cString: strerror(errno)))
                }
            }
        }
        return state
    }

    private func save(_ state: State) throws {
        var out = JSONWriter()
        out.beginObject()
        out.key("version"); out.number(state.version)
        out.field("position", state.position)
        if let file = state.file { out.field("file", file) }
        out.key("length"); out.number(state.length)
        out.endObject()
        try DurableFile.write(out.bytes, to: configuration.directory + "/" + Self.stateFileName)
    }
}

/// One day file open for appending.
private struct DayFile {
    let path: String
    let fd: Int32
    private(set) var length: Int

    /// Opens (creating) the file; `length` is what the caller knows it holds (nil: its size).
    init(path: String, length: Int?) throws {
        self.path = path
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StrataError.io(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        var info = stat()
        self.length = length ?? (fstat(fd, &info) == 0 ? Int(info.st_size) : 0)
    }

    mutating func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StrataError.io(path: path, operation: "write", reason: String(cString: strerror(errno)))
            }
            written += n
        }
        length += written
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw StrataError.io(path: path, operation: "fsync", reason: String(cString: strerror(errno))) }
    }

    func close() { _ = Glibc.close(fd) }
}
