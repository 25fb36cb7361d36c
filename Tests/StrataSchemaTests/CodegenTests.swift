import Foundation
import StrataSchema
import StrataTestSupport
import Testing

/// Code generation: naming rules, options, determinism and errors (the compile check is in
/// CodegenCompileTests).
@Suite("code generation")
struct CodegenTests {
    static func source(_ files: [String: String], options: CodegenOptions = CodegenOptions()) throws -> String {
        try SwiftCodegen.source(for: try EventSchemaSet(files: files), options: options)
    }

    @Test("event types become struct and case names; structs carry their type name")
    func eventNames() throws {
        let source = try Self.source([
            "a.json": #"{"type": "user:created"}"#,
            "b.json": #"{"type": "user:email-set", "data": {"email": {"type": "string"}}}"#,
            "c.json": #"{"type": "order.v2/line-added"}"#,
        ])
        #expect(source.contains("public struct UserCreated: Codable, Sendable, Hashable {"))
        #expect(source.contains("public struct UserEmailSet: Codable, Sendable, Hashable {"))
        #expect(source.contains("public struct OrderV2LineAdded: Codable, Sendable, Hashable {"))
        #expect(source.contains(#"public static let eventType = "user:email-set""#))
        #expect(source.contains("    case orderV2LineAdded(OrderV2LineAdded)\n    case userCreated(UserCreated)\n    case userEmailSet(UserEmailSet)\n"))
        #expect(source.contains("public enum Event: Sendable, Hashable {"))
    }

    @Test("member names: camel case, keywords in backticks, non-identifiers mapped through CodingKeys")
    func memberNames() throws {
        let source = try Self.source(["a.json": #"""
            {"type": "t", "data": {"zip-code": {"type": "string"}, "ID": {"type": "string"}, "URLPath": {"type": "string"},
             "class": {"type": "string"}, "self": {"type": "string"}, "3d": {"type": "string"}, "snake_case": {"type": "string"}}}
            """#])
        for expected in ["public var zipCode: String", "public var id: String", "public var urlPath: String",
                         "public var `class`: String", "public var selfValue: String", "public var _3d: String",
                         "public var snakeCase: String",
                         #"case zipCode = "zip-code""#, #"case id = "ID""#, #"case selfValue = "self""#, "case `class`\n",
                         #"case _3d = "3d""#, #"case snakeCase = "snake_case""#] {
            #expect(source.contains(expected), "missing: \(expected)")
        }
    }

    @Test("nested objects, enums and anyOf become nested types; names that would hide Swift types get a suffix")
    func nestedTypes() throws {
        let source = try Self.source(["a.json": #"""
            {"type": "string", "data": {
              "data": {"type": "object", "properties": {"status": {"type": "string", "enum": ["in-transit", "default"]}}},
              "lines": {"type": "array", "items": {"type": "object", "properties": {}}},
              "value": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
              "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
              "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }}
            """#])
        for expected in ["public struct StringEvent:", "public var data: DataValue", "public struct DataValue:",
                         "public enum Status: String, Codable, Sendable, Hashable, CaseIterable {",
                         #"case inTransit = "in-transit""#, "case `default`\n",
                         "public var lines: [LinesItem]", "public struct LinesItem:",
                         "public var value: Value", "public enum Value: Codable, Sendable, Hashable {",
                         "case string(String)", "case integer(Int)", "case null\n",
                         "public var maybe: Int?", "try container.encode(maybe, forKey: .maybe)",
                         "public var labels: [String: String]"] {
            #expect(source.contains(expected), "missing: \(expected)")
        }
    }

    @Test("--conform and --import add conformances to event structs and import lines")
    func conformances() throws {
        let source = try Self.source(["a.json": #"{"type": "a", "data": {"x": {"type": "object", "properties": {}}}, "meta": {}}"#],
                                     options: CodegenOptions(enumName: "AppEvent", conformances: ["DomainEvent"], imports: ["StrataModel"]))
        #expect(source.contains("import Foundation\nimport StrataModel\n"))
        #expect(source.contains("public struct A: Codable, Sendable, Hashable, DomainEvent {"))
        #expect(source.contains("public struct X: Codable, Sendable, Hashable {"), "nested types do not get the conformance")
        #expect(source.contains("public struct Meta: Codable, Sendable, Hashable {"))
        #expect(source.contains("public enum AppEvent: Sendable, Hashable {"))
    }

    @Test("the same configs give the same bytes, however they are loaded")
    func deterministic() throws {
        let fromFolder = try EventSchemaSet(folder: SchemaTestSupport.fixtureEvents)
        let first = try SwiftCodegen.source(for: fromFolder)
        let second = try SwiftCodegen.source(for: try EventSchemaSet(folder: SchemaTestSupport.fixtureEvents))
        let fromTable = try SwiftCodegen.source(for: try EventSchemaSet(files: fromFolder.sources))
        #expect(first == second)
        #expect(first == fromTable)
        #expect(!first.contains(SchemaTestSupport.fixtureEvents.path), "no absolute paths in the output")
        // Events and definitions are sorted by name.
        let order = ["public struct Address", "public struct Category", "public typealias Email", "public struct _2FaEnabled",
                     "public struct OrderPlaced", "public struct UserCreated", "public struct UserEmailSet", "public enum Event"]
        let positions = order.map { first.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test("two configs with one Swift name are an error naming both files")
    func nameCollision() {
        #expect(throws: EventSchemaError.nameCollision(name: "UserCreated", file: "a.json", otherFile: "b.json")) {
            try Self.source(["a.json": #"{"type": "user:created"}"#, "b.json": #"{"type": "user-created"}"#])
        }
        #expect(throws: EventSchemaError.nameCollision(name: "UserCreated", file: "e.json", otherFile: "$definitions.json (definition \"UserCreated\")")) {
            try Self.source(["$definitions.json": #"{"UserCreated": {"type": "string"}}"#, "e.json": #"{"type": "user:created"}"#])
        }
        #expect(throws: EventSchemaError.nameCollision(name: "Event", file: "e.json", otherFile: "the enum name option")) {
            try Self.source(["e.json": #"{"type": "event"}"#])
        }
    }

    @Test("unusable options are refused", arguments: [
        CodegenOptions(enumName: "class"), CodegenOptions(enumName: "Data"), CodegenOptions(enumName: "My Events"),
        CodegenOptions(conformances: ["Not A Protocol"]), CodegenOptions(imports: ["Foundation;"]),
    ])
    func invalidOptions(options: CodegenOptions) {
        #expect {
            try Self.source(["e.json": #"{"type": "e"}"#], options: options)
        } throws: { error in
            if case .invalidOption = error as? EventSchemaError { return true }
            return false
        }
    }

    @Test("generate(input:output:) writes the file once and leaves an up-to-date file untouched")
    func writesOnlyChanges() throws {
        let folder = try TemporaryDirectory("codegen")
        defer { folder.remove() }
        try folder.write("events/a.json", #"{"type": "a"}"#)
        let output = folder.url.appendingPathComponent("Sources/App/Events.swift")
        let first = try SwiftCodegen.generate(input: folder.url.appendingPathComponent("events"), output: output)
        #expect(first == SwiftCodegen.Outcome(events: 1, definitions: 0, written: true))
        let second = try SwiftCodegen.generate(input: folder.url.appendingPathComponent("events"), output: output)
        #expect(second.written == false)
        try folder.write("events/b.json", #"{"type": "b"}"#)
        #expect(try SwiftCodegen.generate(input: folder.url.appendingPathComponent("events"), output: output).written)
        #expect(try String(contentsOf: output, encoding: .utf8).contains("case b(B)"))
    }

    @Test("strata-codegen arguments parse, and bad ones are refused")
    func arguments() throws {
        let parsed = try CodegenArguments(parsing: ["--input", "ev", "--output", "o.swift", "--conform", "P", "--conform", "Q",
                                                    "--import", "M", "--enum-name", "E"])
        #expect(parsed.input.lastPathComponent == "ev")
        #expect(parsed.output.lastPathComponent == "o.swift")
        #expect(parsed.options == CodegenOptions(enumName: "E", conformances: ["P", "Q"], imports: ["M"]))
        for bad in [["--input", "a"], ["--output", "b"], ["--input", "a", "--output", "b", "--bogus"], ["--input"],
                    ["--input", "a", "--input", "b", "--output", "c"]] {
            #expect(throws: EventSchemaError.self) { try CodegenArguments(parsing: bad) }
        }
    }
}
