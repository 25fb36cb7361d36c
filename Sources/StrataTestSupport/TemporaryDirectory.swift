import Foundation

/// A directory of its own under the system's temporary directory, for one test.
///
/// ```swift
/// let directory = try TemporaryDirectory("backup")
/// defer { directory.remove() }
/// let store = try LogEventStore(directory: directory.path + "/data")
/// ```
public struct TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Creates a fresh directory `strata-LABEL-UUID`.
    public init(_ label: String = "test") throws {
        path = Self.freshPath(label)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The directory as a file URL.
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// The path of `relativePath` inside the directory.
    public func appending(_ relativePath: String) -> String { path + "/" + relativePath }

    /// Writes `text` to `relativePath` inside the directory, creating folders on the way, and
    /// returns the file's path.
    @discardableResult
    public func write(_ relativePath: String, _ text: String) throws -> String {
        let file = appending(relativePath)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Removes the directory and everything in it.
    public func remove() { Self.remove(path) }

    /// A path `strata-LABEL-UUID` under the system's temporary directory that nothing uses yet;
    /// nothing is created (for code that must create the directory or file itself).
    public static func freshPath(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(label)-\(UUID().uuidString)").path
    }

    /// Removes `path` and everything under it, if it exists.
    public static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}
