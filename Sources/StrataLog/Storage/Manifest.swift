import Foundation
import StrataJSON
import Glibc
import StrataStorage
import Strata

/// `manifest.json`, the file that makes a directory a Strata log directory and says which
/// format version its files use (docs/FORMAT.md, "Data directory").
///
///     {"format":"strata-log","version":1,"createdAt":"2025-01-31T12:00:00Z"}
struct Manifest: Equatable, Sendable {
    static let fileName = "manifest.json"
    static let formatName = "strata-log"
    /// The version a new store gets.
    static let currentVersion = 1
    /// The version of a store a scavenge has rewritten: positions may have gaps, segment files
    /// may carry a generation (docs/FORMAT.md, "Scavenging"). Strata before it refuses such a store.
    static let scavengedVersion = 2
    /// The versions this code opens.
    static let supportedVersions = 1...2

    var format: String
    var version: Int
    var createdAt: Date
    /// The store's identity (docs/FORMAT.md, "The manifest"): a random lower-case UUID written at
    /// creation; nil in a manifest written before identities existed.
    var id: String? = nil

    /// The manifest's JSON, one line, fields in the documented order.
    var json: String {
        let id = self.id.map { #","id":"\#($0)""# } ?? ""
        return #"{"format":"\#(format)","version":\#(version),"createdAt":"\#(createdAt.formatted(.iso8601))"\#(id)}"# + "\n"
    }

    /// The store's identity: the recorded `id`, or, for a store created before identities
    /// existed, one derived from its creation time (the same in every process, never written).
    var identity: String { id ?? "strata-log-created-" + createdAt.formatted(.iso8601) }

    /// Writes a new manifest in `directory`, creating the directory (and its parents) when
    /// missing. Atomic and durable: a temporary file is fsynced, renamed, and the directory fsynced.
    ///
    /// - Throws: `FileError.io` with `EEXIST` when a manifest is already there.
    @discardableResult
    static func create(in directory: String, createdAt: Date = Date(), fileSystem: any FileSystem = POSIXFileSystem()) throws -> Manifest {
        let path = directory + "/" + fileName
        try FileError.run { try fileSystem.makeDirectories(directory) }
        if fileSystem.exists(path) {
            throw FileError.io(path: path, operation: "create", errno: EEXIST)
        }
        // Whole seconds: the ISO 8601 text keeps no more, and load must give back what create returned.
        let manifest = Manifest(
            format: formatName, version: currentVersion,
            createdAt: Date(timeIntervalSince1970: createdAt.timeIntervalSince1970.rounded(.down)),
            id: UUID().uuidString.lowercased()
        )
        try FileError.run { try fileSystem.writeFileAtomically(path, Array(manifest.json.utf8)) }
        return manifest
    }

    /// Reads and checks the manifest of `directory`.
    ///
    /// - Throws: `FileError.notAStrataDirectory` when there is no manifest,
    ///   `FileError.unsupportedFormat` for another format or a version other than 1,
    ///   `FileError.corrupt` when the file is not the expected JSON.
    static func load(from directory: String, fileSystem: any FileSystem = POSIXFileSystem()) throws -> Manifest {
        let path = directory + "/" + fileName
        guard fileSystem.exists(path) else { throw FileError.notAStrataDirectory(path: directory) }
        let data = Data(try FileError.run { try fileSystem.readFile(path) })
        guard let object = try? JSONValue(parsing: data), case .object = object else {
            throw FileError.corrupt(path: path, offset: 0, reason: "not a JSON object")
        }
        guard let format = object["format"]?.stringValue else {
            throw FileError.corrupt(path: path, offset: 0, reason: "no \"format\" string")
        }
        guard format == formatName else {
            throw FileError.unsupportedFormat(path: path, found: "format \"\(format)\"", supported: supportedVersions.upperBound)
        }
        guard let version = object["version"]?.integerValue.map(Int.init) else {
            throw FileError.corrupt(path: path, offset: 0, reason: "no integer \"version\"")
        }
        guard supportedVersions.contains(version) else {
            throw FileError.unsupportedFormat(path: path, found: "format version \(version)", supported: supportedVersions.upperBound)
        }
        guard let text = object["createdAt"]?.stringValue, let createdAt = try? Date(text, strategy: .iso8601) else {
            throw FileError.corrupt(path: path, offset: 0, reason: "no ISO 8601 \"createdAt\"")
        }
        var id: String?
        if let value = object["id"] {
            guard let text = value.stringValue, (try? StoreIdentity(text)) != nil else {
                throw FileError.corrupt(path: path, offset: 0, reason: "\"id\" is not a store identity")
            }
            id = text
        }
        return Manifest(format: format, version: version, createdAt: createdAt, id: id)
    }

    /// Rewrites the manifest of `directory` with `version` (atomic and durable), keeping its
    /// creation time. Call it while holding the directory's lock.
    static func upgrade(in directory: String, to version: Int, fileSystem: any FileSystem = POSIXFileSystem()) throws {
        var manifest = try load(from: directory, fileSystem: fileSystem)
        guard manifest.version < version else { return }
        manifest.version = version
        try FileError.run { try fileSystem.writeFileAtomically(directory + "/" + fileName, Array(manifest.json.utf8)) }
    }

    /// Loads the manifest of `directory`, or creates one when the directory is missing or holds
    /// nothing but a `LOCK` file and dot-files. Call it while holding the directory's lock.
    ///
    /// - Throws: `FileError.notAStrataDirectory` when the directory holds other files but no manifest.
    static func loadOrCreate(in directory: String, createdAt: Date = Date(), fileSystem: any FileSystem = POSIXFileSystem()) throws -> Manifest {
        let entries = (try? fileSystem.contentsOfDirectory(directory)) ?? []
        if entries.contains(fileName) { return try load(from: directory, fileSystem: fileSystem) }
        let others = entries.filter { $0 != DirectoryLock.fileName && !$0.hasPrefix(".") && $0 != fileName + ".tmp" }
        guard others.isEmpty else { throw FileError.notAStrataDirectory(path: directory) }
        return try create(in: directory, createdAt: createdAt, fileSystem: fileSystem)
    }
}
