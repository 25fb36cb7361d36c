import Foundation
import Strata
import Testing
import StrataJSON

/// The JSON parser used for configs and for payloads at append time.
@Suite("JSON parser")
struct JSONParserTests {
    @Test("values parse with member order kept, numbers as integers when they fit")
    func values() throws {
        let value = try JSONValue(parsing: #" {"b": [1, -2.5, 1e3, 12345678901234567890, true, null], "a": "x\u00e9\n\ud83d\ude00\"", "c": {}} "#)
        #expect(value == .object([
            JSONMember("b", .array([.integer(1), .number(-2.5), .number(1000), .number(1.2345678901234567e19), .bool(true), .null])),
            JSONMember("a", .string("xé\n😀\"")),
            JSONMember("c", .object([])),
        ]))
        #expect(value.jsonText == #"{"b":[1,-2.5,1000,1.2345678901234567e+19,true,null],"a":"xé\n😀\"","c":{}}"#)
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(Int64.min))
        #expect(try JSONValue(parsing: "0") == .integer(0))
    }

    @Test("invalid JSON is refused with its line and column", arguments: [
        ("", 1, 1), ("{", 1, 2), ("[1,]", 1, 4), ("01", 1, 1), ("{\"a\" 1}", 1, 6), ("\"\\x\"", 1, 2),
        ("[1]\n x", 2, 2), ("\"\\ud800\"", 1, 2), ("1.", 1, 3), ("nul", 1, 4), ("\"a\u{01}\"", 1, 3),
    ])
    func invalid(text: String, line: Int, column: Int) {
        #expect {
            _ = try JSONValue(parsing: text)
        } throws: { error in
            guard let error = error as? StrataJSONSyntaxError else { return false }
            return error.line == line && error.column == column
        }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: StrataJSONSyntaxError.self) { try JSONValue(parsing: Data([0x22, 0xC3, 0x28, 0x22])) }
    }
}
