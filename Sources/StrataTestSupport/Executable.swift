import Foundation

/// Finds the programs tests run: this package's built executables (next to the test bundle)
/// and tools on `PATH`.
public enum Executable {
    /// The path of the executable `name` this package built: the value of the environment
    /// variable `variable` when it is set, else the file `name` in the build directory the tests
    /// run from (found from the test bundle's location), else `.build/debug/NAME` under the
    /// working directory; nil when none exists.
    public static func built(_ name: String, overriddenBy variable: String? = nil) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let variable, let path = environment[variable], !path.isEmpty { return path }
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath(), URL(fileURLWithPath: Bundle.main.bundlePath)]
        if let path = Bundle.main.executablePath { starts.append(URL(fileURLWithPath: path)) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") { starts.append(bundle.bundleURL) }
        for start in starts {
            var directory = start
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent(name).path
                if isProgram(candidate) { return candidate }
                directory = directory.deletingLastPathComponent()
            }
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/" + name
        return isProgram(fallback) ? fallback : nil
    }

    /// ``built(_:overriddenBy:)``, or ``NotFound`` naming how to build it.
    public static func requireBuilt(_ name: String, overriddenBy variable: String? = nil) throws -> String {
        guard let path = built(name, overriddenBy: variable) else {
            throw NotFound(name: name, hint: "build it with `swift build --product \(name)` (scripts/test.sh builds every one the tests run)"
                + (variable.map { " or set \($0) to its path" } ?? ""))
        }
        return path
    }

    /// The path of `name` in a directory of `PATH` (or `name` itself when it is a path to a
    /// program); nil when there is none.
    public static func onPath(_ name: String) -> String? {
        if name.contains("/") { return isProgram(name) ? name : nil }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if isProgram(path) { return path }
        }
        return nil
    }

    /// A program a test needs is not there.
    public struct NotFound: Error, CustomStringConvertible {
        /// The program's name.
        public let name: String
        /// How to get it.
        public let hint: String
        /// "NAME was not found: HINT".
        public var description: String { "\(name) was not found: \(hint)" }
    }

    private static func isProgram(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }
}
