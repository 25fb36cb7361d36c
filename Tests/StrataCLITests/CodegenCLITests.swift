import Foundation
import StrataTestSupport
import Testing

/// `strata codegen` end to end.
@Suite("strata codegen")
struct CodegenCLITests {
    @Test("codegen writes the Swift file, reports up to date on a second run, and honours the options")
    func generates() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let events = dir.url.appendingPathComponent("events")
        try FileManager.default.createDirectory(at: events.appendingPathComponent("user"), withIntermediateDirectories: true)
        try Data(##"{"event": {"type": "user:created", "data": {"email": {"$ref": "#/definitions/Email"}}}}"##.utf8)
            .write(to: events.appendingPathComponent("user/user-created.json"))
        try Data(#"{"Email": {"type": "string", "format": "email"}}"#.utf8).write(to: events.appendingPathComponent("$definitions.json"))
        let arguments = ["codegen", "--input", "events", "--output", "Sources/App/Events.swift", "--conform", "DomainEvent",
                         "--import", "StrataModel", "--enum-name", "AppEvent"]
        let first = try await CLIProcess.run(arguments, in: dir.url)
        #expect(first.status == 0, "\(first)")
        #expect(first.lines == ["wrote Sources/App/Events.swift (1 event, 1 definition)"])
        let source = try String(contentsOf: dir.url.appendingPathComponent("Sources/App/Events.swift"), encoding: .utf8)
        #expect(source.contains("import StrataModel"))
        #expect(source.contains("public struct UserCreated: Codable, Sendable, Hashable, DomainEvent {"))
        #expect(source.contains("public enum AppEvent: Sendable, Hashable {"))
        let second = try await CLIProcess.run(arguments, in: dir.url)
        #expect(second.status == 0, "\(second)")
        #expect(second.lines == ["Sources/App/Events.swift is up to date (1 event, 1 definition)"])
    }

    @Test("a bad config fails with exit status 2 and one line naming the file; nothing is written")
    func badConfig() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let events = dir.url.appendingPathComponent("events")
        try FileManager.default.createDirectory(at: events, withIntermediateDirectories: true)
        try Data(#"{"type": "a"}"#.utf8).write(to: events.appendingPathComponent("a.json"))
        try Data(#"{"event": {"type": "a"}}"#.utf8).write(to: events.appendingPathComponent("b.json"))
        let outcome = try await CLIProcess.run(["codegen", "--input", "events", "--output", "Events.swift"], in: dir.url)
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.errorLines == [#"error: events/b.json: event type "a" is already declared in events/a.json; each type belongs to one file"#])
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("Events.swift").path))

        let missing = try await CLIProcess.run(["codegen", "--input", "nowhere", "--output", "Events.swift"], in: dir.url)
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.errorLines == ["error: cannot read nowhere: no such folder"])
    }
}
