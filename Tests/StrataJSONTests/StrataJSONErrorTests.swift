import Foundation
import StrataJSON
import Testing

@Suite("StrataJSON errors")
struct StrataJSONErrorTests {
    private func path(_ keys: [any CodingKey]) -> [String] { keys.map(\.stringValue) }

    /// Decodes with both decoders and returns both errors.
    private func errors<T: Decodable>(_ type: T.Type, _ json: String) -> (foundation: DecodingError?, strata: DecodingError?) {
        let data = Data(json.utf8)
        var foundation: DecodingError?
        var strata: DecodingError?
        do { _ = try JSONDecoder().decode(T.self, from: data) } catch { foundation = error as? DecodingError }
        do { _ = try StrataJSONDecoder().decode(T.self, from: data) } catch { strata = error as? DecodingError }
        return (foundation, strata)
    }

    @Test("a type mismatch deep inside names the field, as Foundation does")
    func typeMismatchPath() throws {
        let json = #"{"id":"4C1B7A38-2F55-4F43-9F4E-6A8D2B3C1D0E","customer":"c","lines":[{"sku":"a","quantity":1,"price":1},{"sku":"b","quantity":"two","price":1}]}"#
        let (foundation, strata) = errors(Order.self, json)
        guard case .typeMismatch(let type, let context)? = strata, case .typeMismatch(_, let expected)? = foundation else {
            Issue.record("expected typeMismatch, got \(String(describing: strata)) and \(String(describing: foundation))")
            return
        }
        #expect(ObjectIdentifier(type) == ObjectIdentifier(Int.self))
        #expect(path(context.codingPath) == ["lines", "Index 1", "quantity"])
        #expect(path(context.codingPath) == path(expected.codingPath))
        #expect(context.debugDescription.contains("byte offset"))
    }

    @Test("a missing key is keyNotFound with the container's path")
    func missingKey() throws {
        let json = #"{"id":"4C1B7A38-2F55-4F43-9F4E-6A8D2B3C1D0E","customer":"c","lines":[{"sku":"a","quantity":1,"price":1},{"sku":"b","price":1}]}"#
        let (foundation, strata) = errors(Order.self, json)
        guard case .keyNotFound(let key, let context)? = strata, case .keyNotFound(_, let expected)? = foundation else {
            Issue.record("expected keyNotFound, got \(String(describing: strata))")
            return
        }
        #expect(key.stringValue == "quantity")
        #expect(path(context.codingPath) == ["lines", "Index 1"])
        #expect(path(context.codingPath) == path(expected.codingPath))
    }

    @Test("null for a non-optional value is valueNotFound; at the end of an array too")
    func valueNotFound() throws {
        let (foundation, strata) = errors([Address].self, #"[{"street":"s","city":null}]"#)
        guard case .valueNotFound(_, let context)? = strata, case .valueNotFound(_, let expected)? = foundation else {
            Issue.record("expected valueNotFound, got \(String(describing: strata))")
            return
        }
        #expect(path(context.codingPath) == ["Index 0", "city"])
        #expect(path(context.codingPath) == path(expected.codingPath))

        struct Pair: Decodable {
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                _ = try container.decode(Int.self)
                _ = try container.decode(Int.self)
            }
        }
        let (_, atEnd) = errors(Pair.self, "[1]")
        guard case .valueNotFound(_, let endContext)? = atEnd else {
            Issue.record("expected valueNotFound, got \(String(describing: atEnd))")
            return
        }
        #expect(path(endContext.codingPath) == ["Index 1"])
    }

    @Test("a dictionary where an array is expected, and the reverse, are typeMismatch")
    func containerMismatch() throws {
        let (_, keyed) = errors(Address.self, "[1]")
        guard case .typeMismatch? = keyed else { Issue.record("got \(String(describing: keyed))"); return }
        let (_, unkeyed) = errors([Int].self, #"{"a":1}"#)
        guard case .typeMismatch? = unkeyed else { Issue.record("got \(String(describing: unkeyed))"); return }
    }

    /// Inputs that RFC 8259 rejects, each with a reason and the offset of the fault.
    static let invalid: [(String, [UInt8])] = [
        ("empty input", []),
        ("only whitespace", Array("  \n".utf8)),
        ("trailing comma in an object", Array(#"{"a":1,}"#.utf8)),
        ("trailing comma in an array", Array("[1,2,]".utf8)),
        ("leading zero", Array("[01]".utf8)),
        ("leading zero, negative", Array("-012".utf8)),
        ("lone minus", Array("-".utf8)),
        ("no digits after the point", Array("1.".utf8)),
        ("no leading digit", Array(".5".utf8)),
        ("empty exponent", Array("1e".utf8)),
        ("plus sign", Array("+1".utf8)),
        ("NaN", Array("NaN".utf8)),
        ("Infinity", Array("[Infinity]".utf8)),
        ("unterminated string", Array(#""abc"#.utf8)),
        ("raw tab in a string", Array("\"a\tb\"".utf8)),
        ("raw newline in a string", Array("\"a\nb\"".utf8)),
        ("invalid escape", Array(#""\x41""#.utf8)),
        ("short unicode escape", Array(#""\u00""#.utf8)),
        ("non-hex unicode escape", Array(#""\u00zz""#.utf8)),
        ("lone high surrogate", Array(#""\ud800""#.utf8)),
        ("lone low surrogate", Array(#""\udc00""#.utf8)),
        ("high surrogate then a non-surrogate", Array(#""\ud800\u0041""#.utf8)),
        ("missing colon", Array(#"{"a" 1}"#.utf8)),
        ("unquoted key", Array("{a:1}".utf8)),
        ("single quotes", Array("['a']".utf8)),
        ("missing comma", Array("[1 2]".utf8)),
        ("two values", Array("1 2".utf8)),
        ("garbage after an object", Array("{} x".utf8)),
        ("extra closing brace", Array(#"{"a":1}}"#.utf8)),
        ("truncated literal", Array("[nul]".utf8)),
        ("misspelt literal", Array("[tru]".utf8)),
        ("unclosed array", Array("[".utf8)),
        ("unclosed object", Array(#"{"a":"#.utf8)),
        ("invalid UTF-8 byte", [0x22, 0xFF, 0x22]),
        ("overlong UTF-8", [0x22, 0xC0, 0xAF, 0x22]),
        ("UTF-8 encoded surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
        ("truncated UTF-8", [0x22, 0xE4, 0xB8, 0x22]),
        ("nesting deeper than 512", Array((String(repeating: "[", count: 513) + String(repeating: "]", count: 513)).utf8)),
    ]

    @Test("invalid JSON is rejected with dataCorrupted, a StrataJSONSyntaxError and its byte offset",
          arguments: 0..<invalid.count)
    func invalidJSON(_ index: Int) throws {
        let (name, bytes) = Self.invalid[index]
        // Foundation's decoder accepts trailing commas; every other case it rejects too.
        let foundationAccepts = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) != nil
        #expect(foundationAccepts == name.hasPrefix("trailing comma"), "Foundation's JSONDecoder and the test case \(name)")
        do {
            _ = try StrataJSONDecoder().decode(JSONValue.self, from: bytes)
            Issue.record("\(name) was accepted")
        } catch DecodingError.dataCorrupted(let context) {
            let syntax = try #require(context.underlyingError as? StrataJSONSyntaxError, "\(name): \(context)")
            #expect(syntax.offset >= 0 && syntax.offset <= bytes.count, "\(name): offset \(syntax.offset)")
            #expect(context.debugDescription.contains("byte offset \(syntax.offset)"), "\(name): \(context.debugDescription)")
        }
    }

    @Test("syntax errors carry the offset of the fault and the path to it")
    func syntaxErrorDetail() throws {
        func failure(_ json: String) throws -> (StrataJSONSyntaxError, [String]) {
            do {
                _ = try StrataJSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
            } catch DecodingError.dataCorrupted(let context) {
                return (try #require(context.underlyingError as? StrataJSONSyntaxError), path(context.codingPath))
            }
            throw StrataJSONSyntaxError(offset: -1, line: 0, column: 0, reason: "accepted")
        }
        let (trailing, trailingPath) = try failure(#"{"a":{"b":[1,2,]}}"#)
        #expect(trailing.offset == 15)
        #expect(trailing.reason.contains("trailing comma"))
        #expect(trailingPath == ["a", "b"])
        let (control, controlPath) = try failure("{\"list\":[\"ok\",\"bad\u{1}\"]}")
        #expect(control.offset == 18)
        #expect(controlPath == ["list", "Index 1"])
        let (zero, _) = try failure(#"{"n": 007}"#)
        #expect(zero.offset == 6)
        #expect(zero.reason.contains("leading zero"))
    }

    @Test("valid edge cases are accepted: fragments, whitespace, a byte order mark, deep nesting")
    func validEdges() throws {
        let decoder = StrataJSONDecoder()
        #expect(try decoder.decode(Int.self, from: Data(" \t\r\n 42 \n".utf8)) == 42)
        #expect(try decoder.decode(String.self, from: [0xEF, 0xBB, 0xBF] + Array(#""x""#.utf8)) == "x")
        #expect(try decoder.decode(JSONValue.self, from: Data((String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).utf8)) != .null)
        #expect(try decoder.decode([String: [Int]].self, from: Data(#"{"":[],"a":[-0]}"#.utf8)) == ["": [], "a": [0]])
    }
}
