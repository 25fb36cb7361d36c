import Foundation
import Testing

/// Runs the built `strata` binary as a child process, without blocking a test thread: output
/// goes to files and termination is awaited through a continuation.
struct CLIProcess {
    /// What a finished run left behind.
    struct Outcome: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String

        /// Non-empty stdout lines.
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
        /// Non-empty stderr lines.
        var errorLines: [String] { stderr.split(separator: "\n").map(String.init) }

        var description: String { "status \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// The `strata` executable: `STRATA_CLI_PATH`, or next to the test binary in the build directory.
    static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["STRATA_CLI_PATH"] { return path }
        var candidates: [URL] = []
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        if let path = Bundle.main.executablePath { candidates.append(URL(fileURLWithPath: path).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in candidates {
            let path = directory.appendingPathComponent("strata").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// Runs `strata ARGUMENTS` in `directory`, feeding `stdin`, and kills it after `timeout` seconds.
    static func run(_ arguments: [String], in directory: URL, stdin: String? = nil, timeout: Double = 60,
                    program: String = "strata") async throws -> Outcome {
        let strata = try #require(executable, "the strata binary was not found next to the tests; run `swift build` first or set STRATA_CLI_PATH")
        // Other programs of the package (the examples) are built next to `strata`.
        let binary = program == "strata" ? strata : URL(fileURLWithPath: strata).deletingLastPathComponent().appendingPathComponent(program).path
        let id = UUID().uuidString
        let outURL = directory.appendingPathComponent(".out-\(id)")
        let errURL = directory.appendingPathComponent(".err-\(id)")
        let inURL = directory.appendingPathComponent(".in-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
        defer {
            for url in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: url) }
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let input = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let (ended, ending) = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in ending.finish() }
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            process.terminate()
        }
        for await _ in ended {}
        watchdog.cancel()
        return Outcome(status: process.terminationStatus,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}

/// A temporary working directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The `--store` URL of a log store inside the directory.
    var store: String { "file:" + url.appendingPathComponent("data").path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Parses one line of JSON into a dictionary.
func jsonObject(_ line: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
    return try #require(value as? [String: Any], "not a JSON object: \(line)")
}

/// The top-level keys of a one-line JSON object, in the order they appear.
func topLevelKeys(_ line: String) -> [String] {
    var keys: [String] = []
    var depth = 0
    var inString = false
    var escaped = false
    var current = ""
    var expectingKey = false
    for c in line {
        if inString {
            if escaped { escaped = false; current.append(c); continue }
            if c == "\\" { escaped = true; current.append(c); continue }
            if c == "\"" {
                inString = false
                if expectingKey && depth == 1 { keys.append(current) }
                expectingKey = false
                continue
            }
            current.append(c)
            continue
        }
        switch c {
        case "\"":
            inString = true
            current = ""
        case "{", "[":
            depth += 1
            expectingKey = c == "{" && depth == 1
        case "}", "]": depth -= 1
        case ",": expectingKey = depth == 1
        case ":": expectingKey = false
        default: break
        }
    }
    return keys
}
