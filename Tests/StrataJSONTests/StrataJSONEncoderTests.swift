import Foundation
import StrataJSON
import Testing

@Suite("StrataJSONEncoder")
struct StrataJSONEncoderTests {
    /// Foundation's bytes for the same value, with sorted keys and unescaped slashes (the
    /// options under which both must write identical bytes).
    private func foundationBytes<T: Encodable>(_ value: T, configure: (JSONEncoder) -> Void = { _ in }) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        configure(encoder)
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func strataBytes<T: Encodable>(_ value: T, configure: (StrataJSONEncoder) -> Void = { _ in }) throws -> String {
        let encoder = StrataJSONEncoder()
        encoder.outputFormatting = .sortedKeys
        configure(encoder)
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test("with sorted keys, writes the same bytes as Foundation for many shapes")
    func sameBytesAsFoundation() throws {
        #expect(try strataBytes(Order.sample) == foundationBytes(Order.sample))
        let numbers = Numbers(i: Int.min, i8: -128, i16: 32767, i32: Int32.min, i64: Int64.max, u: UInt.max, u8: 255, u16: 65535,
                              u32: UInt32.max, u64: UInt64.max, f: 0.1, d: 1e-7)
        #expect(try strataBytes(numbers) == foundationBytes(numbers))
        let doubles: [Double] = [0, -0.0, 1, 100, 0.1, 1e-5, 1e16, 1e300, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 123456789012345680, 0.30000000000000004, -2.5]
        #expect(try strataBytes(doubles) == foundationBytes(doubles))
        let floats: [Float] = [0.1, 1e10, 3.4e38, -1.5, 16_777_216]
        #expect(try strataBytes(floats) == foundationBytes(floats))
        let matrix = Matrix(name: "m", rows: [[1, nil, 2.5], [], [nil]])
        #expect(try strataBytes(matrix) == foundationBytes(matrix))
        let dog = Dog(name: "Rex", legs: 4)
        #expect(try strataBytes(dog) == foundationBytes(dog))
        let keys = ["b": 1, "a10": 2, "a2": 3, "B": 4, "_x": 5, "é": 6, "Z": 7, "": 8, "a\"q": 9, "a\\": 10]
        #expect(try strataBytes(keys) == foundationBytes(keys))
        let optionals: [String?] = [nil, "x", nil]
        #expect(try strataBytes(optionals) == foundationBytes(optionals))
        #expect(try strataBytes([Silent(), Silent()]) == foundationBytes([Silent(), Silent()]))
        #expect(try strataBytes(["k": Silent()]) == foundationBytes(["k": Silent()]))
        #expect(try strataBytes("top") == foundationBytes("top"))
        #expect(try strataBytes(42) == foundationBytes(42))
        #expect(try strataBytes([1: "int keys"]) == foundationBytes([1: "int keys"]))
    }

    @Test("escapes quotes, backslashes and control characters, and leaves non-ASCII as UTF-8")
    func escaping() throws {
        let text = "q\" b\\ s/ \u{0}\u{1}\u{8}\u{9}\u{A}\u{C}\u{D}\u{1F}\u{7F} é中😀 and a longer tail to cross eight-byte words"
        let written = try strataBytes(text)
        #expect(written == "\"q\\\" b\\\\ s/ \\u0000\\u0001\\b\\t\\n\\f\\r\\u001f\u{7F} é中😀 and a longer tail to cross eight-byte words\"")
        #expect(written == (try foundationBytes(text)))
        #expect(try JSONDecoder().decode(String.self, from: Data(written.utf8)) == text)
    }

    @Test("NaN and infinities throw invalidValue with the coding path")
    func nonFinite() throws {
        struct Reading: Encodable {
            var values: [Double]
            var single: Float
        }
        for (value, path) in [(Reading(values: [1, .nan], single: 0), ["values", "Index 1"]),
                              (Reading(values: [], single: .infinity), ["single"])] {
            do {
                _ = try StrataJSONEncoder().encode(value)
                Issue.record("encoded a non-finite value")
            } catch EncodingError.invalidValue(_, let context) {
                #expect(context.codingPath.map(\.stringValue) == path)
            }
        }
        #expect(throws: EncodingError.self) { try StrataJSONEncoder().encode(-Double.infinity) }
    }

    @Test("a value that encodes nothing at the top level is invalidValue, as in Foundation")
    func silentTopLevel() throws {
        #expect(throws: EncodingError.self) { try StrataJSONEncoder().encode(Silent()) }
    }

    @Test("date and data strategies write what Foundation writes")
    func strategies() throws {
        let dates = [Date(timeIntervalSince1970: 1_714_566_600.25), Date(timeIntervalSince1970: -1), Date(timeIntervalSinceReferenceDate: 0)]
        let pairs: [(JSONEncoder.DateEncodingStrategy, StrataJSONEncoder.DateEncodingStrategy)] = [
            (.deferredToDate, .deferredToDate), (.secondsSince1970, .secondsSince1970),
            (.millisecondsSince1970, .millisecondsSince1970), (.iso8601, .iso8601),
        ]
        for (foundation, strata) in pairs {
            #expect(try strataBytes(dates) { $0.dateEncodingStrategy = strata } == foundationBytes(dates) { $0.dateEncodingStrategy = foundation })
        }
        #expect(try strataBytes(dates) { $0.dateEncodingStrategy = .iso8601WithFractionalSeconds }
            == #"["2024-05-01T12:30:00.250Z","1969-12-31T23:59:59.000Z","2001-01-01T00:00:00.000Z"]"#)
        let decoder = StrataJSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let encoder = StrataJSONEncoder()
        encoder.dateEncodingStrategy = .iso8601WithFractionalSeconds
        #expect(try decoder.decode([Date].self, from: try encoder.encode(dates)) == dates)

        let blobs = [Data(), Data([0]), Data([0, 1, 2, 253, 254, 255])]
        #expect(try strataBytes(blobs) == foundationBytes(blobs))
        #expect(try strataBytes(blobs) { $0.dataEncodingStrategy = .deferredToData } == foundationBytes(blobs) { $0.dataEncodingStrategy = .deferredToData })
        let specials = Specials(when: Date(timeIntervalSinceReferenceDate: 1), blob: Data([1]), link: URL(string: "https://example.org/a/b?c")!,
                                id: UUID(), amount: Decimal(string: "-12.345")!)
        #expect(try strataBytes(specials) == foundationBytes(specials))
    }

    @Test("convertToSnakeCase converts keys as Foundation does, but not dictionary keys")
    func snakeCase() throws {
        let value = SnakeCased(userId: 1, firstName: "Ada", homeAddress: Address(street: "s", city: "c", postcode: nil),
                               lastLoginUrl: "u", attributes: ["xY": 1, "camelCase": 2])
        #expect(try strataBytes(value) { $0.keyEncodingStrategy = .convertToSnakeCase }
            == foundationBytes(value) { $0.keyEncodingStrategy = .convertToSnakeCase })
        let decoder = StrataJSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let encoder = StrataJSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let back = try decoder.decode(SnakeCased.self, from: try encoder.encode(value))
        #expect(back.attributes == value.attributes && back.firstName == value.firstName)
    }

    @Test("snake-case conversions agree with Foundation's on tricky keys")
    func snakeCaseKeys() throws {
        struct Keys: Encodable {
            let names: [String]
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: StrataJSONKey.self)
                for (i, name) in names.enumerated() { try container.encode(i, forKey: StrataJSONKey(stringValue: name)) }
            }
        }
        let names = ["a", "A", "myURL", "myURLValue", "userID", "HTTPRequest", "already_snake", "x1Y2", "ABC", "aB", "simple", "_leading", "trailingX", "éClair", "userIDs"]
        let strataKeys = try strataBytes(Keys(names: names)) { $0.keyEncodingStrategy = .convertToSnakeCase }
        let foundationKeys = try foundationBytes(Keys(names: names)) { $0.keyEncodingStrategy = .convertToSnakeCase }
        #expect(strataKeys == foundationKeys)
        struct Probe: Decodable {
            var keys: [String]
            init(from decoder: any Decoder) throws {
                keys = try decoder.container(keyedBy: StrataJSONKey.self).allKeys.map(\.stringValue).sorted()
            }
        }
        let json = #"{"user_id":1,"_a_b_":2,"__x":3,"a__b":4,"URL_value":5,"plain":6,"a_b_c":7,"_":8,"x_1_y":9}"#
        let (foundation, strata) = try decodeBoth(Probe.self, json) {
            $0.keyDecodingStrategy = .convertFromSnakeCase
            $1.keyDecodingStrategy = .convertFromSnakeCase
        }
        #expect(strata.keys == foundation.keys)
    }

    @Test("a type that writes out of order is encoded through Foundation with the same options")
    func outOfOrder() throws {
        #expect(try strataBytes(OutOfOrder()) == #"{"a":{"c":2},"b":1}"#)
        #expect(try strataBytes([OutOfOrder()]) == foundationBytes([OutOfOrder()]))
    }

    @Test("unsorted output keeps the order keys were written in; the buffer is reused")
    func unsortedAndReused() throws {
        let encoder = StrataJSONEncoder()
        var buffer: [UInt8] = []
        try encoder.encode(Address(street: "s", city: "c", postcode: "p"), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"{"street":"s","city":"c","postcode":"p"}"#)
        buffer.removeAll(keepingCapacity: true)
        try encoder.encode(Address(street: "t", city: "d", postcode: nil), into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"{"street":"t","city":"d"}"#)
        let count = try encoder.withEncoded([1, 2, 3]) { $0.count }
        #expect(count == 7)
        #expect(try JSONDecoder().decode(Order.self, from: try encoder.encode(Order.sample)) == Order.sample)
    }
}
