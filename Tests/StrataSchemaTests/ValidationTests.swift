import Foundation
import StrataSchema
import Testing

/// Validation of event data and metadata: every keyword, every violation, exact JSON paths.
@Suite("schema validation")
struct ValidationTests {
    /// One event type `t` whose data has the given properties (a JSON object's members).
    static func schemas(data properties: String, meta: String? = nil, definitions: String? = nil) throws -> EventSchemaSet {
        var files = ["t.json": #"{"type": "t", "data": {\#(properties)}\#(meta.map { #", "meta": {\#($0)}"# } ?? "")}"#]
        if let definitions { files["$definitions.json"] = definitions }
        return try EventSchemaSet(files: files)
    }

    /// The violations of `data` as `PATH: MESSAGE` lines.
    static func violations(_ schemas: EventSchemaSet, _ data: String, meta: String? = nil) -> [String] {
        schemas.validate(type: "t", data: Data(data.utf8), meta: meta.map { Data($0.utf8) }).map(\.description)
    }

    @Test("types: each JSON type accepts its values and names what it got otherwise")
    func types() throws {
        let s = try Self.schemas(data: #""s": {"type": "string"}, "n": {"type": "number"}, "i": {"type": "integer"}, "b": {"type": "boolean"}, "z": {"type": "null"}, "o": {"type": "object"}, "a": {"type": "array"}, "any": {}"#)
        #expect(Self.violations(s, #"{"s": "x", "n": 1.5, "i": 2.0, "b": false, "z": null, "o": {}, "a": [1, "x"], "any": [{"k": null}]}"#) == [])
        #expect(Self.violations(s, #"{"s": 1, "n": "1", "i": 1.5, "b": 0, "z": false, "o": [], "a": {}, "any": null}"#) == [
            "$.data.s: expected string, got integer",
            "$.data.n: expected number, got string",
            "$.data.i: expected integer, got number",
            "$.data.b: expected boolean, got integer",
            "$.data.z: expected null, got boolean",
            "$.data.o: expected object, got array",
            "$.data.a: expected array, got object",
        ])
    }

    @Test("required by default, optional: true may be absent; null is not absence")
    func requiredAndOptional() throws {
        let s = try Self.schemas(data: #""need": {"type": "string"}, "may": {"type": "string", "optional": true}"#)
        #expect(Self.violations(s, #"{"need": "x"}"#) == [])
        #expect(Self.violations(s, #"{}"#) == ["$.data.need: required property is missing"])
        #expect(Self.violations(s, #"{"need": "x", "may": null}"#) == ["$.data.may: expected string, got null"])
    }

    @Test("additionalProperties: false by default, true allows any, a schema checks the extras")
    func additionalProperties() throws {
        let s = try Self.schemas(data: #"""
            "closed": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "open": {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": true},
            "map": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
            """#)
        #expect(Self.violations(s, #"{"closed": {"a": 1}, "open": {"a": 1, "b": [true]}, "map": {"x": 1, "y": 2}}"#) == [])
        #expect(Self.violations(s, #"{"closed": {"a": 1, "b": 2}, "open": {"b": 2}, "map": {"x": -1, "y": "2"}, "extra": 1}"#) == [
            "$.data.closed.b: property is not allowed (additionalProperties is false)",
            "$.data.open.a: required property is missing",
            "$.data.map.x: -1 is less than the minimum 0",
            "$.data.map.y: expected integer, got string",
            "$.data.extra: property is not allowed (additionalProperties is false)",
        ])
    }

    @Test("nested objects and arrays report paths with keys, indexes and quoted keys")
    func nestedPaths() throws {
        let s = try Self.schemas(data: #"""
            "address": {"type": "object", "properties": {"zip": {"type": "string"}, "zip-code": {"type": "string"}}},
            "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}
            """#)
        #expect(Self.violations(s, #"{"address": {"zip": 1, "zip-code": 2}, "lines": [{"sku": "a"}, {"sku": 3}, {}]}"#) == [
            "$.data.address.zip: expected string, got integer",
            #"$.data.address["zip-code"]: expected string, got integer"#,
            "$.data.lines[1].sku: expected string, got integer",
            "$.data.lines[2].sku: required property is missing",
        ])
    }

    @Test("enum for strings and numbers")
    func enums() throws {
        let s = try Self.schemas(data: #""status": {"type": "string", "enum": ["open", "closed"]}, "level": {"enum": [1, 2, 3]}, "ratio": {"type": "number", "enum": [0.5, 1]}"#)
        #expect(Self.violations(s, #"{"status": "open", "level": 2, "ratio": 1.0}"#) == [])
        #expect(Self.violations(s, #"{"status": "Open", "level": 4, "ratio": 0.25}"#) == [
            #"$.data.status: "Open" is not one of "open", "closed""#,
            "$.data.level: 4 is not one of 1, 2, 3",
            "$.data.ratio: 0.25 is not one of 0.5, 1",
        ])
        #expect(Self.violations(s, #"{"status": "open", "level": 1.5, "ratio": 1}"#) == ["$.data.level: expected integer, got number"])
    }

    @Test("string keywords: minLength and maxLength in characters, pattern, formats")
    func stringKeywords() throws {
        let s = try Self.schemas(data: #"""
            "name": {"type": "string", "minLength": 2, "maxLength": 4},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email"}
            """#)
        #expect(Self.violations(s, #"{"name": "Zoë", "code": "ABC-12", "at": "2024-02-29T23:59:60.123+05:30", "day": "2024-02-29", "id": "0F8FAD5B-d9cb-469f-a165-70867728950e", "email": "ada@example.com"}"#) == [])
        #expect(Self.violations(s, #"{"name": "x", "code": "abc-12", "at": "2023-02-29T10:00:00Z", "day": "2024-13-01", "id": "0f8fad5b-d9cb-469f-a165-70867728950", "email": "ada@@example.com"}"#) == [
            "$.data.name: is 1 characters long, shorter than minLength 2",
            #"$.data.code: "abc-12" does not match the pattern ^[A-Z]{3}-[0-9]+$"#,
            #"$.data.at: "2023-02-29T10:00:00Z" is not a valid date-time"#,
            #"$.data.day: "2024-13-01" is not a valid date"#,
            #"$.data.id: "0f8fad5b-d9cb-469f-a165-70867728950" is not a valid uuid"#,
            #"$.data.email: "ada@@example.com" is not a valid email"#,
        ])
        #expect(Self.violations(s, #"{"name": "Zoëys", "code": "XABC-1", "at": "2024-01-01T10:00:00", "day": "2024-1-01", "id": "0f8fad5bd9cb469fa16570867728950e", "email": "ada@example..com"}"#) == [
            "$.data.name: is 5 characters long, longer than maxLength 4",
            #"$.data.code: "XABC-1" does not match the pattern ^[A-Z]{3}-[0-9]+$"#,
            #"$.data.at: "2024-01-01T10:00:00" is not a valid date-time"#,
            #"$.data.day: "2024-1-01" is not a valid date"#,
            #"$.data.id: "0f8fad5bd9cb469fa16570867728950e" is not a valid uuid"#,
            #"$.data.email: "ada@example..com" is not a valid email"#,
        ])
    }

    @Test("number keywords: minimum, maximum, exclusiveMinimum, exclusiveMaximum")
    func numberKeywords() throws {
        let s = try Self.schemas(data: #""q": {"type": "integer", "minimum": 1, "maximum": 10}, "p": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}"#)
        #expect(Self.violations(s, #"{"q": 1, "p": 0.5}"#) == [])
        #expect(Self.violations(s, #"{"q": 10, "p": 0.999}"#) == [])
        #expect(Self.violations(s, #"{"q": 0, "p": 0}"#) == [
            "$.data.q: 0 is less than the minimum 1",
            "$.data.p: 0 is not greater than the exclusiveMinimum 0",
        ])
        #expect(Self.violations(s, #"{"q": 11, "p": 1}"#) == [
            "$.data.q: 11 is greater than the maximum 10",
            "$.data.p: 1 is not less than the exclusiveMaximum 1",
        ])
    }

    @Test("array keywords: items, minItems, maxItems")
    func arrayKeywords() throws {
        let s = try Self.schemas(data: #""tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2}"#)
        #expect(Self.violations(s, #"{"tags": ["a", "b"]}"#) == [])
        #expect(Self.violations(s, #"{"tags": []}"#) == ["$.data.tags: has 0 items, fewer than minItems 1"])
        #expect(Self.violations(s, #"{"tags": ["a", 2, null]}"#) == [
            "$.data.tags: has 3 items, more than maxItems 2",
            "$.data.tags[1]: expected string, got integer",
            "$.data.tags[2]: expected string, got null",
        ])
    }

    @Test("anyOf: one matching alternative suffices; otherwise one violation lists each alternative's reasons")
    func anyOf() throws {
        let s = try Self.schemas(data: #""v": {"anyOf": [{"type": "string", "minLength": 3}, {"type": "object", "properties": {"n": {"type": "integer"}}}, {"type": "null"}]}"#)
        #expect(Self.violations(s, #"{"v": "abc"}"#) == [])
        #expect(Self.violations(s, #"{"v": {"n": 1}}"#) == [])
        #expect(Self.violations(s, #"{"v": null}"#) == [])
        #expect(Self.violations(s, #"{"v": {"n": "1"}}"#) == [
            "$.data.v: matches none of the anyOf alternatives: (1) $.data.v: expected string, got object; (2) $.data.v.n: expected integer, got string; (3) $.data.v: expected null, got object",
        ])
    }

    @Test("$ref checks the definition's rules at the referring path")
    func refs() throws {
        let s = try Self.schemas(data: ##""home": {"$ref": "#/definitions/Address"}, "work": {"$ref": "#/definitions/Address", "optional": true}"##,
                                 definitions: ##"{"Address": {"type": "object", "properties": {"zip": {"$ref": "#/definitions/Zip"}}}, "Zip": {"type": "string", "pattern": "^[0-9]{5}$"}}"##)
        #expect(Self.violations(s, #"{"home": {"zip": "12345"}}"#) == [])
        #expect(Self.violations(s, #"{"home": {"zip": "1234"}, "work": {}}"#) == [
            #"$.data.home.zip: "1234" does not match the pattern ^[0-9]{5}$"#,
            "$.data.work.zip: required property is missing",
        ])
    }

    @Test("meta is checked at $.meta only when the config declares it; absent metadata counts as {}")
    func meta() throws {
        let withMeta = try Self.schemas(data: "", meta: #""auditor": {"type": "string"}"#)
        #expect(Self.violations(withMeta, "{}", meta: #"{"auditor": "ops"}"#) == [])
        #expect(Self.violations(withMeta, "{}", meta: nil) == ["$.meta.auditor: required property is missing"])
        #expect(Self.violations(withMeta, "{}", meta: #"{"auditor": 1, "tags": []}"#) == [
            "$.meta.auditor: expected string, got integer",
            "$.meta.tags: property is not allowed (additionalProperties is false)",
        ])
        let withoutMeta = try Self.schemas(data: "")
        #expect(Self.violations(withoutMeta, "{}", meta: #"{"anything": true}"#) == [])
    }

    @Test("data that is not JSON, not an object, or repeats a key; an unknown type")
    func malformedData() throws {
        let s = try Self.schemas(data: #""a": {"type": "integer"}"#)
        #expect(Self.violations(s, #"{"a": 1,}"#) == ["$.data: is not valid JSON: line 1, column 9: a trailing comma before '}'"])
        #expect(Self.violations(s, "[1]") == ["$.data: expected object, got array"])
        #expect(Self.violations(s, #"{"a": 1, "a": 2}"#) == ["$.data.a: the key appears more than once in the object"])
        #expect(s.validate(type: "nope", data: Data("{}".utf8), meta: nil).map(\.description)
            == [#"$.type: unknown event type "nope"; no config declares it"#])
    }

    @Test("every violation is listed, not only the first")
    func everyViolation() throws {
        let s = try Self.schemas(data: #""a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "object", "properties": {"d": {"type": "boolean"}}}"#)
        #expect(Self.violations(s, #"{"a": 1, "c": {"d": "no", "e": 1}, "f": 2}"#) == [
            "$.data.a: expected string, got integer",
            "$.data.c.d: expected boolean, got string",
            "$.data.c.e: property is not allowed (additionalProperties is false)",
            "$.data.f: property is not allowed (additionalProperties is false)",
            "$.data.b: required property is missing",
        ])
    }
}
