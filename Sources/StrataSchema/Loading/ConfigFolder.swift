import Foundation

/// Lists and reads the config files of a folder.
enum ConfigFolder {
    /// One file: its path relative to the folder, and its bytes.
    struct File {
        let relativePath: String
        let bytes: Data
    }

    /// Every `*.json` file under `folder` (hidden files and folders skipped), sorted by relative path.
    static func read(_ folder: URL) throws -> [File] {
        try relativePaths(folder).map { relative in
            let url = folder.appendingPathComponent(relative)
            do {
                return File(relativePath: relative, bytes: try Data(contentsOf: url))
            } catch {
                throw EventSchemaError.unreadable(path: folder.relativePath + "/" + relative, reason: error.localizedDescription)
            }
        }
    }

    /// The relative paths of every `*.json` file under `folder`, sorted.
    static func relativePaths(_ folder: URL) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EventSchemaError.unreadable(path: folder.relativePath, reason: "no such folder")
        }
        var result: [String] = []
        try collect(folder, prefix: "", into: &result)
        return result.sorted()
    }

    private static func collect(_ folder: URL, prefix: String, into result: inout [String]) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw EventSchemaError.unreadable(path: folder.path, reason: error.localizedDescription)
        }
        for name in names.sorted() where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try collect(url, prefix: prefix + name + "/", into: &result)
            } else if name.hasSuffix(".json") {
                result.append(prefix + name)
            }
        }
    }
}
