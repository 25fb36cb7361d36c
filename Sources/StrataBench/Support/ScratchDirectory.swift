import Foundation

/// A fresh directory for one workload, removed afterwards.
struct ScratchDirectory {
    /// The directory's path.
    let path: String

    /// Creates `parent/strata-bench-<pid>-<name>`, removing any leftover of the same name.
    init(parent: String, name: String) throws {
        path = (parent as NSString).appendingPathComponent("strata-bench-\(getpid())-\(name)")
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Deletes the directory and everything in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
