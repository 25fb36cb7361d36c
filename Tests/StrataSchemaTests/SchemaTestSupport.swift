import Foundation
import StrataSchema
import Testing

/// Fixtures, temporary folders and a child-process runner for the schema tests.
enum SchemaTestSupport {
    /// The repository's root folder.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The sample config folder (Tests/StrataSchemaTests/Fixtures/events).
    static let fixtureEvents = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/events")

    /// Loads configs given inline (path → JSON text).
    static func schemas(_ files: [String: String]) throws -> EventSchemaSet {
        try EventSchemaSet(files: files)
    }

    /// The error thrown by loading `files`; records an issue when loading succeeds.
    static func loadError(_ files: [String: String], sourceLocation: SourceLocation = #_sourceLocation) -> EventSchemaError? {
        do {
            _ = try EventSchemaSet(files: files)
            Issue.record("loading succeeded", sourceLocation: sourceLocation)
        } catch let error as EventSchemaError {
            return error
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }
}

/// A temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let url: URL

    init(_ label: String = "schema") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes a file at a relative path, creating folders.
    func write(_ relativePath: String, _ text: String) throws {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Runs a program as a child process without blocking a test thread: output goes to files and
/// termination is awaited through a continuation; the process is killed after `timeout`.
enum ChildProcess {
    struct Outcome: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String
        var description: String { "status \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    static func run(_ executable: String, _ arguments: [String], in directory: URL, timeout: Duration) async throws -> Outcome {
        let id = UUID().uuidString
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("strata-child-\(id).out")
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("strata-child-\(id).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let (ended, ending) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in ending.finish() }
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        for await _ in ended {}
        watchdog.cancel()
        return Outcome(status: process.terminationStatus,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
