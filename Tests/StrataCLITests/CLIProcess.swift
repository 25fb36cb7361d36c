import Foundation
import StrataTestSupport
import Testing

/// Runs the built `strata` binary (or another program of the package built beside it) to its
/// end, in a directory, through StrataTestSupport's ``ChildProcess``.
enum CLIProcess {
    /// The `strata` executable: `STRATA_CLI_PATH`, or the one built next to the tests.
    static let executable: String? = Executable.built("strata", overriddenBy: "STRATA_CLI_PATH")

    /// Runs `strata ARGUMENTS` in `directory`, feeding `stdin`, and kills it after `timeout` seconds.
    static func run(_ arguments: [String], in directory: URL, stdin: String? = nil, timeout: Double = 60,
                    program: String = "strata") async throws -> ChildProcess.Outcome {
        let strata = try #require(executable, "the strata binary was not found next to the tests; run `swift build` first or set STRATA_CLI_PATH")
        // Other programs of the package (the examples) are built next to `strata`.
        let binary = program == "strata" ? strata : URL(fileURLWithPath: strata).deletingLastPathComponent().appendingPathComponent(program).path
        return try await ChildProcess.run(binary, arguments, directory: directory.path, stdin: stdin, timeout: .milliseconds(Int(timeout * 1000)))
    }
}

extension TemporaryDirectory {
    /// The `--store` URL of a log store inside the directory.
    var store: String { "file:" + appending("data") }
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
