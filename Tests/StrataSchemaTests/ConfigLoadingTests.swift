import Foundation
import Strata
import StrataSchema
import StrataTestSupport
import Testing

/// Loading event configs: both shapes, shared definitions, `$ref` forms, and every bad-config
/// error naming its file.
@Suite("event config loading")
struct ConfigLoadingTests {
    @Test("the seed's wrapped shape and the flat shape load to the same schema")
    func bothShapes() throws {
        let body = #""type": "user:created", "data": {"email": {"type": "string"}}, "meta": {"auditor": {"type": "string"}}"#
        let wrapped = try SchemaTestSupport.schemas(["a.json": "{\"event\": {\(body)}}"])
        let flat = try SchemaTestSupport.schemas(["a.json": "{\(body)}"])
        let w = try #require(wrapped.events["user:created"])
        let f = try #require(flat.events["user:created"])
        #expect(w.data == f.data)
        #expect(w.meta == f.meta)
        #expect(w.data.properties.map(\.name) == ["email"])
        #expect(w.meta?.properties.map(\.name) == ["auditor"])
        #expect(w.file == "a.json")
    }

    @Test("the sample folder loads: events from subfolders, definitions, property order as written")
    func sampleFolder() throws {
        let schemas = try EventSchemaSet(folder: SchemaTestSupport.fixtureEvents)
        #expect(schemas.eventTypes == ["2fa:enabled", "order:placed", "user:created", "user:email-set"])
        #expect(schemas.definitions.keys.sorted() == ["Address", "Category", "Email"])
        let created = try #require(schemas.events["user:created"])
        #expect(created.data.properties.map(\.name) == ["name", "email", "address"])
        #expect(created.data.properties.map(\.optional) == [false, false, true])
        #expect(created.file == SchemaTestSupport.fixtureEvents.path + "/user/user-created.json")
        #expect(created.description == "A user signed up.")
        #expect(schemas.sources.keys.sorted() == ["$definitions.json", "misc/names.json", "order/order-placed.json",
                                                  "user/user-created.json", "user/user-email-set.json"])
        // The schema table loads back to the same schemas.
        let again = try EventSchemaSet(files: schemas.sources)
        #expect(again.eventTypes == schemas.eventTypes)
        for type in schemas.eventTypes { #expect(again.events[type]?.data == schemas.events[type]?.data) }
    }

    @Test("$definitions.json files in any folder are shared; all three $ref forms resolve")
    func definitionsAndRefs() throws {
        let schemas = try SchemaTestSupport.schemas([
            "shared/$definitions.json": #"{"Zip": {"type": "string", "pattern": "^[0-9]{5}$"}}"#,
            "$definitions.json": ##"{"Address": {"type": "object", "properties": {"zip": {"$ref": "#/definitions/Zip"}}}}"##,
            "e.json": ##"{"type": "e", "data": {"a": {"$ref": "#/definitions/Address"}, "b": {"$ref": "#/$defs/Address"}, "c": {"$ref": "$definitions.json#/Zip"}}}"##,
        ])
        #expect(schemas.definitions["Zip"]?.file == "shared/$definitions.json")
        let properties = try #require(schemas.events["e"]).data.properties
        #expect(properties.map(\.schema.kind) == [.ref("Address"), .ref("Address"), .ref("Zip")])
        #expect(schemas.validate(type: "e", data: Data(#"{"a": {"zip": "12345"}, "b": {"zip": "54321"}, "c": "00000"}"#.utf8), meta: nil) == [])
        #expect(schemas.validate(type: "e", data: Data(#"{"a": {"zip": "1234"}, "b": {"zip": "54321"}, "c": "x"}"#.utf8), meta: nil).map(\.path)
            == ["$.data.a.zip", "$.data.c"])
    }

    @Test("a definition may contain itself through an array, not directly")
    func recursion() throws {
        _ = try SchemaTestSupport.schemas([
            "$definitions.json": ##"{"Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/Node"}}}}}"##,
            "e.json": ##"{"type": "e", "data": {"root": {"$ref": "#/definitions/Node"}}}"##,
        ])
        let error = SchemaTestSupport.loadError([
            "defs/$definitions.json": ##"{"A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B", "optional": true}}}, "B": {"anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}]}}"##,
            "e.json": #"{"type": "e"}"#,
        ])
        guard case .invalidSchema(let file, let path, let reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(file == "defs/$definitions.json")
        #expect(path == "/A")
        #expect(reason.contains("A → B → A"))
    }

    // MARK: - Bad configs

    @Test("a config without type names its file")
    func missingType() {
        #expect(SchemaTestSupport.loadError(["events/no-type.json": #"{"event": {"data": {}}}"#]) == .missingType(file: "events/no-type.json"))
        #expect(SchemaTestSupport.loadError(["flat.json": #"{"data": {}}"#]) == .missingType(file: "flat.json"))
    }

    @Test("a duplicate type names both files")
    func duplicateType() throws {
        let error = SchemaTestSupport.loadError([
            "a/first.json": #"{"type": "user:created"}"#,
            "b/second.json": #"{"event": {"type": "user:created"}}"#,
        ])
        #expect(error == .duplicateType(type: "user:created", file: "b/second.json", firstFile: "a/first.json"))
        #expect(error?.description.contains("b/second.json") == true)
        #expect(error?.description.contains("a/first.json") == true)
    }

    @Test("a duplicate definition names both files, or the one file that declares it twice")
    func duplicateDefinition() {
        #expect(SchemaTestSupport.loadError([
            "$definitions.json": #"{"Email": {"type": "string"}}"#,
            "more/$definitions.json": #"{"Email": {"type": "string"}}"#,
            "e.json": #"{"type": "e"}"#,
        ]) == .duplicateDefinition(name: "Email", file: "more/$definitions.json", firstFile: "$definitions.json"))
        #expect(SchemaTestSupport.loadError([
            "$definitions.json": #"{"Email": {"type": "string"}, "Email": {"type": "string"}}"#,
        ]) == .duplicateDefinition(name: "Email", file: "$definitions.json", firstFile: "$definitions.json"))
    }

    @Test("malformed JSON names the file, line and column")
    func malformedJSON() {
        let error = SchemaTestSupport.loadError(["broken.json": "{\n  \"type\": \"a\",\n  \"data\": {,}\n}"])
        guard case .malformedJSON(let file, let line, let column, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(file == "broken.json")
        #expect(line == 3)
        #expect(column == 12)
    }

    @Test("invalid schemas name the file and the JSON Pointer of the problem", arguments: [
        (#"{"type": "e", "data": {"a": {"type": "strin"}}}"#, "/data/a/type", "unknown type \"strin\""),
        (##"{"type": "e", "data": {"a": {"$ref": "#/definitions/Nope"}}}"##, "/data/a/$ref", "no definition named \"Nope\""),
        (#"{"type": "e", "data": {"a": {"$ref": "other.json#/A"}}}"#, "/data/a/$ref", "unsupported $ref"),
        (#"{"type": "e", "data": {"a": {"type": "string", "minimum": 1}}}"#, "/data/a/minimum", "applies to number and integer types"),
        (#"{"type": "e", "data": {"a": {"type": "object", "required": ["x"]}}}"#, "/data/a/required", "optional"),
        (#"{"type": "e", "data": {"a": {"type": "string", "optinal": true}}}"#, "/data/a/optinal", "unknown keyword"),
        (#"{"type": "e", "data": {"a": {"type": ["string", "null"]}}}"#, "/data/a/type", "use anyOf"),
        (#"{"type": "e", "data": {"a": {"type": "string", "format": "phone"}}}"#, "/data/a/format", "unknown format"),
        (#"{"type": "e", "data": {"a": {"type": "string", "pattern": "(["}}}"#, "/data/a/pattern", "not a valid regular expression"),
        (#"{"type": "e", "data": {"a": {"type": "string", "enum": ["x", 1]}}}"#, "/data/a/enum/1", "strings only"),
        (#"{"type": "e", "data": {"a": {"type": "array", "items": {"type": "string", "optional": true}}}}"#, "/data/a/items/optional", "only applies to a property"),
        (#"{"type": "e", "data": {"a": {"anyOf": [], "description": "x"}}}"#, "/data/a/anyOf", "non-empty array"),
        (##"{"type": "e", "data": {"a": {"$ref": "#/definitions/X", "type": "string"}}}"##, "/data/a/type", "cannot be combined"),
        (#"{"type": "e", "data": {"a": "string"}}"#, "/data/a", "a schema must be an object"),
        (#"{"type": "e", "data": []}"#, "/data", "must be an object"),
        (#"{"type": "e", "colour": "red"}"#, "/colour", "unknown key"),
        (#"{"type": 7}"#, "/type", "must be a string"),
        (#"{"type": ""}"#, "/type", "empty"),
        (#"{"version": 2, "type": "e"}"#, "/version", "unsupported config format version 2"),
        (#"{"event": {"type": "e"}, "extra": 1}"#, "/extra", "unknown key next to \"event\""),
    ])
    func invalidSchema(config: String, path: String, reason: String) {
        let error = SchemaTestSupport.loadError(["dir/bad.json": config])
        guard case .invalidSchema(let file, let actualPath, let actualReason)? = error else {
            Issue.record("expected invalidSchema, got \(String(describing: error))")
            return
        }
        #expect(file == "dir/bad.json")
        #expect(actualPath == path)
        #expect(actualReason.contains(reason), "\(actualReason)")
        #expect(error!.description.hasPrefix("dir/bad.json: invalid schema at \(path)"))
    }

    @Test("loading a folder names files by their full path; a folder without events is an error")
    func folderErrors() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try folder.write("$definitions.json", "{}")
        #expect(throws: EventSchemaError.noEvents(folder: folder.url.path)) { try EventSchemaSet(folder: folder.url) }
        try folder.write("sub/x.json", #"{"type": "x", "data": {"a": {"type": "nope"}}}"#)
        #expect(throws: EventSchemaError.invalidSchema(file: folder.url.path + "/sub/x.json", path: "/data/a/type",
                                                       reason: "unknown type \"nope\" (known: string, number, integer, boolean, object, array, null)")) {
            try EventSchemaSet(folder: folder.url)
        }
        try folder.write("sub/x.json", #"{"type": "x"}"#)
        try folder.write(".hidden/y.json", "not json")
        try folder.write("notes.txt", "not a config")
        #expect(try EventSchemaSet(folder: folder.url).eventTypes == ["x"])
        let missing = folder.url.appendingPathComponent("missing")
        #expect(throws: EventSchemaError.unreadable(path: missing.path, reason: "no such folder")) { try EventSchemaSet(folder: missing) }
    }
}
