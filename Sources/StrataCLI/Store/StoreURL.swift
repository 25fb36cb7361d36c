import Foundation
import Strata
import StrataSQLite

/// Where a command's store lives, parsed from `--store`. The only place that knows URL schemes.
enum StoreURL: Equatable, CustomStringConvertible {
    /// The embedded log engine in a directory: `file:PATH` or `file://PATH`.
    case file(path: String)
    /// A fresh in-memory store: `memory:`. Nothing persists after the command ends.
    case memory
    /// The SQLite backend in one database file: `sqlite:PATH` (`sqlite:./events.db`,
    /// `sqlite:/abs/events.db`, or `sqlite://PATH`).
    case sqlite(path: String)
    /// A PostgreSQL schema: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`
    /// (also `postgresql://`). The schema is created on first use.
    case postgres(url: String)

    /// The default when `--store` is not given.
    static let defaultText = "file:./strata-data"

    /// Parses a store URL.
    /// - Throws: ``StrataError/unknownStoreURL(_:)`` for a scheme this build does not know.
    init(parsing text: String) throws {
        if text == "memory:" || text == "memory://" {
            self = .memory
            return
        }
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty, !path.hasSuffix("/") else { throw StrataError.unknownStoreURL(text) }
            self = .sqlite(path: path)
            return
        }
        if text.hasPrefix("file:") {
            var path = String(text.dropFirst("file:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw StrataError.unknownStoreURL(text) }
            self = .file(path: path)
            return
        }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: try StoreURL.checkPostgres(text))
            return
        }
        throw StrataError.unknownStoreURL(text)
    }

    var description: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .memory: "memory:"
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): StoreURL.displayPostgres(url)
        }
    }

    /// How a command uses the store.
    enum Access {
        /// Create the store when it does not exist (`init`, `append`).
        case create
        /// The store must already exist (reads, `tail`, `stats`).
        case existing
    }

    /// Whether the store's directory (or database file) already exists (always true for memory stores).
    var exists: Bool {
        switch self {
        case .memory, .postgres: return true
        case .file(let path):
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        case .sqlite(let path):
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// Opens the store.
    func open(_ access: Access) async throws -> any EventStore {
        switch self {
        case .memory:
            return InMemoryEventStore()
        case .file(let path):
            if access == .existing && !exists {
                throw CommandFailure.noStore(path: path)
            }
            return try StoreURL.openLog(directory: path)
        case .sqlite(let path):
            if access == .existing && !exists {
                throw CommandFailure.noStore(path: path)
            }
            return try SQLiteEventStore(path: path)
        case .postgres(let url):
            return try await StoreURL.openPostgres(url)
        }
    }
}
