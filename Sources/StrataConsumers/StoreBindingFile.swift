import Foundation
@_spi(Machinery) import Strata
import StrataJSON
import StrataStorage

/// The file that binds a checkpoint (a consumer's folder in a checkpoint directory, a document
/// view's snapshot, a daily mirror's folder) to the store it was made for, holding
/// `{"store":"…","version":1}` (docs/CONSUMERS.md, "Store binding", version 1).
package struct StoreBindingFile: Sendable {
    /// The file's path.
    package let path: String
    package let fileSystem: any FileSystem

    package init(path: String, fileSystem: any FileSystem = POSIXFileSystem()) {
        self.path = path
        self.fileSystem = fileSystem
    }

    private struct Record: Codable {
        static let currentVersion = 1
        var version: Int
        var store: StoreIdentity
    }

    /// The recorded store, or nil when the folder has no binding yet.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` or ``StrataError/unsupportedFormat(path:found:supported:)``.
    package func load() throws -> StoreIdentity? {
        guard let data = try DurableFile.read(path, fileSystem: fileSystem) else { return nil }
        guard let record = try? StrataJSONDecoder().decode(Record.self, from: data) else {
            throw StrataError.corruption(path: path, offset: 0, reason: "not a store-binding record")
        }
        guard record.version == Record.currentVersion else {
            throw StrataError.unsupportedFormat(path: path, found: "store binding v\(record.version)", supported: "store binding v\(Record.currentVersion)")
        }
        return record.store
    }

    /// Records `identity`, durably (write, fsync, rename, fsync the folder), creating the folder when missing.
    package func save(_ identity: StoreIdentity) throws {
        try DurableFile.createDirectory((path as NSString).deletingLastPathComponent, fileSystem: fileSystem)
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(Record(version: Record.currentVersion, store: identity)), to: path, fileSystem: fileSystem)
    }

    /// Records `identity` when nothing is recorded; refuses another store's folder.
    /// - Throws: ``StrataError/checkpointOfAnotherStore(consumer:recorded:actual:)``.
    package func bind(_ identity: StoreIdentity, consumer: String) throws {
        if try StoreIdentity.check(recorded: try load(), actual: identity, consumer: consumer) { try save(identity) }
    }
}
