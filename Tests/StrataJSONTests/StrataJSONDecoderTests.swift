import Foundation
import StrataJSON
import Testing

@Suite("StrataJSONDecoder")
struct StrataJSONDecoderTests {
    @Test("decodes nested structs, optionals, enums, dictionaries and arrays as Foundation does")
    func matchesFoundation() throws {
        let data = try JSONEncoder().encode(Order.sample)
        let foundation = try JSONDecoder().decode(Order.self, from: data)
        let strata = try StrataJSONDecoder().decode(Order.self, from: data)
        #expect(strata == foundation)
        #expect(strata == Order.sample)
        // The same decoder, reused, from the other input kinds.
        let decoder = StrataJSONDecoder()
        #expect(try decoder.decode(Order.self, from: [UInt8](data)) == Order.sample)
        #expect(try data.withUnsafeBytes { try decoder.decode(Order.self, from: $0) } == Order.sample)
        #expect(try decoder.decode([Order].self, from: Data("[\(String(decoding: data, as: UTF8.self))]".utf8)) == [Order.sample])
    }

    @Test("integers and floats of every width, at their limits")
    func numbers() throws {
        let json = """
            {"i":-9223372036854775808,"i8":-128,"i16":32767,"i32":-2147483648,"i64":9223372036854775807,
             "u":18446744073709551615,"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,
             "f":3.4028235e38,"d":-1.7976931348623157e308}
            """
        let (foundation, strata) = try decodeBoth(Numbers.self, json)
        #expect(strata == foundation)
        #expect(strata.i == Int.min && strata.u64 == UInt64.max && strata.f == Float.greatestFiniteMagnitude)
        for text in ["0", "-0", "1.0", "1e2", "12.50e1", "-3E+2", "100e-2", "0.000", "5e-324", "2.2250738585072014e-308",
                     "0.1", "0.30000000000000004", "123456789012345678901234567890", "1.7976931348623157e308",
                     "9007199254740993", "-123.456e-7", "4.9406564584124654e-324", "1e22", "1e23", "8.589973e9"] {
            let (f, s) = try decodeBoth(Double.self, text)
            #expect(f.bitPattern == s.bitPattern, "\(text): Foundation \(f), StrataJSON \(s)")
            let foundationFloat = try? JSONDecoder().decode(Float.self, from: Data(text.utf8))
            let strataFloat = try? StrataJSONDecoder().decode(Float.self, from: Data(text.utf8))
            #expect(foundationFloat?.bitPattern == strataFloat?.bitPattern, "\(text) as Float: Foundation \(String(describing: foundationFloat)), StrataJSON \(String(describing: strataFloat))")
        }
        for text in ["1.0", "1e2", "12.50e1", "-3E+2", "100e-2", "0.000"] {
            let (f, s) = try decodeBoth(Int.self, text)
            #expect(f == s, "\(text)")
        }
    }

    @Test("numbers that do not fit the type are dataCorrupted with the path")
    func numberRange() throws {
        let decoder = StrataJSONDecoder()
        for (json, type) in [("[1, 300]", [Int8].self as any Decodable.Type), ("[-1]", [UInt].self), ("[1.5]", [Int].self),
                             ("[1e400]", [Double].self), ("[1e39]", [Float].self), ("[18446744073709551616]", [UInt64].self)] {
            do {
                _ = try decoder.decode(type, from: Data(json.utf8))
                Issue.record("\(json) decoded as \(type)")
            } catch DecodingError.dataCorrupted(let context) {
                #expect(context.codingPath.last?.intValue != nil, "\(json): \(context.codingPath)")
                #expect(context.debugDescription.contains("byte offset"))
            }
        }
    }

    @Test("strings with every escape, surrogate pairs and raw UTF-8")
    func strings() throws {
        let json = #"["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u4e2d\ud83d\ude00", "raw é 中 😀", "", "\u0000"]"#
        let (foundation, strata) = try decodeBoth([String].self, json)
        #expect(strata == foundation)
        #expect(strata[0] == "\"\\/\u{8}\u{C}\n\r\t")
        #expect(strata[1] == "Aé中😀")
        #expect(strata[4] == "\u{0}")
    }

    @Test("dates with each strategy")
    func dates() throws {
        let when = Date(timeIntervalSince1970: 1_714_566_600.25)
        let encoder = JSONEncoder()
        for (foundationStrategy, strataStrategy) in [(JSONDecoder.DateDecodingStrategy.deferredToDate, StrataJSONDecoder.DateDecodingStrategy.deferredToDate),
                                                     (.secondsSince1970, .secondsSince1970), (.millisecondsSince1970, .millisecondsSince1970)] {
            switch foundationStrategy {
            case .secondsSince1970: encoder.dateEncodingStrategy = .secondsSince1970
            case .millisecondsSince1970: encoder.dateEncodingStrategy = .millisecondsSince1970
            default: encoder.dateEncodingStrategy = .deferredToDate
            }
            let data = try encoder.encode([when])
            let (f, s) = try decodeBoth([Date].self, String(decoding: data, as: UTF8.self)) {
                $0.dateDecodingStrategy = foundationStrategy
                $1.dateDecodingStrategy = strataStrategy
            }
            #expect(f == s)
        }
        let decoder = StrataJSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let dates = try decoder.decode([Date].self, from: Data(#"["2024-05-01T12:30:00Z", "2024-05-01T12:30:00.250Z", "2024-05-01T14:30:00.250+02:00", "2024-05-01T07:00:00-0530", "1969-12-31T23:59:59Z", "2000-02-29T00:00:00Z"]"#.utf8))
        #expect(dates[0] == Date(timeIntervalSince1970: 1_714_566_600))
        #expect(dates[1] == when)
        #expect(dates[2] == when)
        #expect(dates[3] == Date(timeIntervalSince1970: 1_714_566_600))
        #expect(dates[4] == Date(timeIntervalSince1970: -1))
        #expect(dates[5] == Date(timeIntervalSince1970: 951_782_400))
        let foundation = JSONDecoder()
        foundation.dateDecodingStrategy = .iso8601
        #expect(try foundation.decode([Date].self, from: Data(#"["2024-05-01T12:30:00Z"]"#.utf8)) == [dates[0]])
        for bad in ["2024-02-30T00:00:00Z", "2024-05-01 12:30:00Z", "2024-05-01T12:30:00", "2024-05-01T24:00:00Z", "yesterday"] {
            #expect(throws: DecodingError.self, "\(bad)") { try decoder.decode([Date].self, from: Data("[\"\(bad)\"]".utf8)) }
        }
    }

    @Test("Data as Base64, URL, UUID and Decimal")
    func specials() throws {
        let value = Specials(when: Date(timeIntervalSinceReferenceDate: 12.5), blob: Data([0, 1, 2, 254, 255]),
                             link: URL(string: "https://example.org/a?b=c")!, id: UUID(), amount: Decimal(string: "12345.6789")!)
        let data = try JSONEncoder().encode(value)
        #expect(try StrataJSONDecoder().decode(Specials.self, from: data) == value)
        #expect(throws: DecodingError.self) {
            try StrataJSONDecoder().decode(Data.self, from: Data(#""not base64!""#.utf8))
        }
    }

    @Test("superDecoder, nested containers, decodeNil and class hierarchies")
    func containers() throws {
        let dog = Dog(name: "Rex", legs: 4)
        let data = try JSONEncoder().encode(dog)
        let decoded = try StrataJSONDecoder().decode(Dog.self, from: data)
        #expect(decoded.name == "Rex" && decoded.legs == 4)
        let matrix = Matrix(name: "m", rows: [[1, nil, 2.5], [], [nil]])
        #expect(try StrataJSONDecoder().decode(Matrix.self, from: try JSONEncoder().encode(matrix)) == matrix)
        #expect(try StrataJSONDecoder().decode(Silent.self, from: Data("{}".utf8)) == Silent())
    }

    @Test("decodeIfPresent: a missing key and null both give nil; a wrong type still throws")
    func optionals() throws {
        struct Optionals: Codable, Equatable {
            var a: Int?
            var b: String?
            var c: [Int]?
            var d: Address?
        }
        let (f, s) = try decodeBoth(Optionals.self, #"{"a":null,"c":[1],"d":null}"#)
        #expect(f == s)
        #expect(s == Optionals(a: nil, b: nil, c: [1], d: nil))
        #expect(throws: DecodingError.self) { try StrataJSONDecoder().decode(Optionals.self, from: Data(#"{"a":"1"}"#.utf8)) }
    }

    @Test("convertFromSnakeCase converts keys as Foundation does, but not dictionary keys")
    func snakeCase() throws {
        let json = #"{"user_id":7,"first_name":"Ada","home_address":{"street":"s","city":"c"},"last_login_url":"u","attributes":{"x_y":1,"z":2}}"#
        let (f, s) = try decodeBoth(SnakeCased.self, json) {
            $0.keyDecodingStrategy = .convertFromSnakeCase
            $1.keyDecodingStrategy = .convertFromSnakeCase
        }
        #expect(f == s)
        #expect(s.attributes == ["x_y": 1, "z": 2])
    }

    @Test("duplicate keys: the first one wins, as in Foundation")
    func duplicateKeys() throws {
        let (f, s) = try decodeBoth(Address.self, #"{"street":"a","city":"b","street":"c"}"#)
        #expect(f == s)
        #expect(s.street == "a")
    }

    @Test("a decoder reused after a failure decodes the next input correctly")
    func reuseAfterFailure() throws {
        let decoder = StrataJSONDecoder()
        #expect(throws: DecodingError.self) { try decoder.decode(Order.self, from: Data(#"{"id":1"#.utf8)) }
        #expect(throws: DecodingError.self) { try decoder.decode(Order.self, from: Data("[]".utf8)) }
        #expect(try decoder.decode(Order.self, from: try JSONEncoder().encode(Order.sample)) == Order.sample)
    }

    @Test("a Decodable that decodes another document with the same decoder gets the right values")
    func reentrant() throws {
        struct Envelope: Decodable {
            var address: Address
            var after: String
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: StrataJSONKey.self)
                let embedded = try container.decode(String.self, forKey: StrataJSONKey(stringValue: "embedded"))
                let shared = decoder.userInfo[CodingUserInfoKey(rawValue: "decoder")!] as! UnsafeSendable<StrataJSONDecoder>
                address = try shared.value.decode(Address.self, from: Data(embedded.utf8))
                after = try container.decode(String.self, forKey: StrataJSONKey(stringValue: "after"))
            }
        }
        let decoder = StrataJSONDecoder()
        decoder.userInfo[CodingUserInfoKey(rawValue: "decoder")!] = UnsafeSendable(decoder)
        let envelope = try decoder.decode(Envelope.self, from: Data(#"{"embedded":"{\"street\":\"s\",\"city\":\"c\"}","after":"z"}"#.utf8))
        #expect(envelope.address == Address(street: "s", city: "c", postcode: nil))
        #expect(envelope.after == "z")
    }
}

/// Lets a test put its decoder in `userInfo`; the test uses it from one task only.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
