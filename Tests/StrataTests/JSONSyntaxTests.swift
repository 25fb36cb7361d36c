import Foundation
import Strata
import Testing
import StrataJSON

@Suite("JSONSyntax")
struct JSONSyntaxTests {
    private func bytes(_ text: String) -> Data { Data(text.utf8) }

    @Test("accepts valid JSON objects", arguments: [
        "{}", " { } ", "\n\t{\"a\":1}\r\n", #"{"a":[1,-2.5e+3,0,0.5,1E-7,true,false,null]}"#, #"{"s":"x\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}"#,
        #"{"nested":{"deeper":{"list":[[],[{}],{"k":"v"}]}}}"#, #"{"":""}"#, #"{"a":1,"a":2}"#, "{\"utf8\":\"ünï€😀\"}",
    ])
    func validObjects(_ text: String) {
        #expect(JSONSyntax.isObject(bytes(text)))
        #expect(JSONSyntax.isValid(bytes(text)))
    }

    @Test("rejects malformed documents", arguments: [
        "", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{'a':1}", "{a:1}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12G4\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "{\"a\":\"raw\ncontrol\"}", "{} {}", "{}x", "[1,]", "[1 2]", "{\"a\" 1}",
    ])
    func malformed(_ text: String) {
        #expect(!JSONSyntax.isObject(bytes(text)))
        #expect(!JSONSyntax.isValid(bytes(text)))
    }

    @Test("isObject accepts only an object at the top level; isValid accepts any value")
    func topLevel() {
        for text in ["[]", "[1,{}]", "1", "-0.5e10", #""text""#, "true", "false", "null", " 7 "] {
            #expect(!JSONSyntax.isObject(bytes(text)), "\(text)")
            #expect(JSONSyntax.isValid(bytes(text)), "\(text)")
        }
    }

    @Test("rejects bytes that are not UTF-8 (RFC 8259 §8.1)", arguments: [
        [0xFF], [0x80], [0xC0, 0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3],
    ] as [[UInt8]])
    func notUTF8(_ bad: [UInt8]) {
        var inString = Data(#"{"a":""#.utf8)
        inString.append(contentsOf: bad)
        inString.append(contentsOf: Data(#""}"#.utf8))
        #expect(!JSONSyntax.isObject(inString))
        #expect(!JSONSyntax.isValid(inString))
        // The same positions with well-formed multi-byte characters are fine.
        #expect(JSONSyntax.isObject(Data("{\"a\":\"é€😀\"}".utf8)))
    }

    @Test("accepts nesting up to maxDepth containers and refuses one more")
    func depthLimit() {
        let depth = JSONSyntax.maxDepth
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(JSONSyntax.isValid(bytes(deepest)))
        // A scalar inside maxDepth containers is within the limit too, as for JSONParser
        // (found by Fuzz/FuzzJSON: the syntax check refused what the parser accepted).
        let deepestWithScalar = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        #expect(JSONSyntax.isValid(bytes(deepestWithScalar)))
        #expect((try? JSONValue(parsing: deepestWithScalar)) != nil)
        #expect(!JSONSyntax.isValid(bytes("[" + deepestWithScalar + "]")))
        let tooDeep = "[" + deepest + "]"
        #expect(!JSONSyntax.isValid(bytes(tooDeep)))
        let objects = String(repeating: #"{"a":"#, count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1)
        #expect(JSONSyntax.isObject(bytes(objects)))
        #expect(!JSONSyntax.isObject(bytes(#"{"a":"# + objects + "}")))
    }

    /// Found by Fuzz/FuzzJSON: the check accepted numbers that every JSON reader refuses.
    @Test("refuses numbers beyond Double's range, as JSONParser does")
    func numberRange() {
        for text in ["1.7976936384123157e308", "-1e309", "[1e400]", "{\"a\":" + String(repeating: "9", count: 400) + "}"] {
            #expect(!JSONSyntax.isValid(bytes(text)), "\(text.prefix(40))")
            #expect((try? JSONValue(parsing: text)) == nil)
        }
        for text in ["1.7976931348623157e308", "4.9e-324", "1e-400", "-0.0", String(repeating: "9", count: 300)] {
            #expect(JSONSyntax.isValid(bytes(text)), "\(text.prefix(40))")
            #expect((try? JSONValue(parsing: text)) != nil)
        }
    }

    /// Found by Fuzz/FuzzJSON: a lone surrogate escape passed the check that JSONParser refuses.
    @Test("refuses unpaired surrogate escapes, as JSONParser does; accepts pairs")
    func surrogates() {
        for text in [#""\ude00""#, #""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #"["\udfff"]"#] {
            #expect(!JSONSyntax.isValid(bytes(text)), "\(text)")
            #expect((try? JSONValue(parsing: text)) == nil, "\(text)")
        }
        for text in [#""\ud83d\ude00""#, #""\u00e9\ud800\udc00""#, #""\uFFFF""#] {
            #expect(JSONSyntax.isValid(bytes(text)), "\(text)")
            #expect((try? JSONValue(parsing: text)) != nil, "\(text)")
        }
    }

    @Test("refuses very deep nesting without exhausting the stack")
    func hostileDepth() {
        let n = 200_000
        #expect(!JSONSyntax.isObject(bytes(String(repeating: #"{"a":"#, count: n))))
        #expect(!JSONSyntax.isValid(bytes(String(repeating: "[", count: n) + String(repeating: "]", count: n))))
    }
}
