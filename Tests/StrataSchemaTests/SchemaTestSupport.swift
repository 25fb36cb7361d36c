import Foundation
import StrataSchema
import Testing

/// Fixtures for the schema tests.
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
