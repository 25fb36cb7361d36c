import Foundation
import Strata
import StrataStorage
import StrataConformance
import StrataJSON
import Testing

/// Random JSON documents from a seed: the decoder must read back exactly the value that was
/// written (however it was spelt), agree with JSONSerialization, and reject a mutated document
/// exactly when Foundation's JSONDecoder does. Seeds: STRATA_PROPERTY_SEEDS (default 1...20).
@Suite("StrataJSON properties")
struct StrataJSONPropertyTests {
    struct Generator {
        var random: SplitMix64

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

        /// A value and one way of writing it.
        mutating func value(depth: Int = 0) -> (JSONValue, String) {
            switch int(0...(depth > 4 ? 3 : 5)) {
            case 0: return (.null, "null")
            case 1:
                let b = chance(50)
                return (.bool(b), b ? "true" : "false")
            case 2: return number()
            case 3:
                let s = string()
                return (.string(s), spell(s))
            case 4:
                var values: [JSONValue] = []
                var texts: [String] = []
                for _ in 0..<int(0...5) {
                    let (v, t) = value(depth: depth + 1)
                    values.append(v)
                    texts.append(t)
                }
                return (.array(values), "[" + space() + texts.joined(separator: space() + "," + space()) + space() + "]")
            default:
                var members: [String: JSONValue] = [:]
                var texts: [String] = []
                for _ in 0..<int(0...5) {
                    let key = string()
                    guard members[key] == nil else { continue }
                    let (v, t) = value(depth: depth + 1)
                    members[key] = v
                    texts.append(spell(key) + space() + ":" + space() + t)
                }
                return (.object(members), "{" + space() + texts.joined(separator: "," + space()) + space() + "}")
            }
        }

        mutating func space() -> String {
            chance(80) ? "" : String((0..<int(1...3)).map { _ in [" ", "\n", "\t", "\r"][int(0...3)] })
        }

        /// A number, written in one of the grammar's forms; its value is what the standard
        /// library's correctly rounded parser makes of the text.
        mutating func number() -> (JSONValue, String) {
            var text = chance(30) ? "-" : ""
            switch int(0...4) {
            case 0: text += String(int(0...9))
            case 1: text += String(UInt64.random(in: 1...UInt64(1) << 53, using: &random))
            case 2: text += "\(int(0...99_999)).\(int(0...999_999))"
            case 3: text += "\(int(1...9)).\(int(0...99_999))e\(chance(50) ? "-" : (chance(50) ? "+" : ""))\(int(0...300))"
            default: text += "\(int(0...999))E\(int(0...20))"
            }
            return (.number(Double(text)!), text)
        }

        mutating func string() -> String {
            let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "中", "😀", "\u{FFFF}", "\u{10FFFF}"]
            return String((0..<int(0...12)).map { _ in alphabet[int(0...(alphabet.count - 1))] })
        }

        /// A string literal with random (valid) escaping.
        mutating func spell(_ s: String) -> String {
            var out = "\""
            for scalar in s.unicodeScalars {
                let v = scalar.value
                if v == 0x22 { out += "\\\""; continue }
                if v == 0x5C { out += "\\\\"; continue }
                if v < 0x20 || chance(15) {
                    if v > 0xFFFF {
                        let high = 0xD800 + ((v - 0x10000) >> 10)
                        let low = 0xDC00 + ((v - 0x10000) & 0x3FF)
                        out += hex(high) + hex(low)
                    } else if v == 0x0A && chance(50) {
                        out += "\\n"
                    } else if v == 0x2F && chance(50) {
                        out += "\\/"
                    } else {
                        out += hex(v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }

        mutating func hex(_ v: UInt32) -> String {
            let digits = String(v, radix: 16, uppercase: chance(50))
            return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        }
    }

    /// Equal, with numbers compared bit for bit.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x.bitPattern == y.bitPattern || (x == 0 && y == 0)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)): return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: return a == b
        }
    }

    @Test("random documents decode to the value written, as JSONSerialization reads them, and round-trip through the encoder",
          arguments: ConformanceSuite.propertySeeds)
    func randomDocuments(seed: UInt64) throws {
        var generator = Generator(random: SplitMix64(seed: seed))
        let decoder = StrataJSONDecoder()
        let encoder = StrataJSONEncoder()
        for round in 0..<200 {
            let (expected, text) = generator.value()
            let data = Data(text.utf8)
            let decoded = try decoder.decode(JSONValue.self, from: data)
            #expect(Self.same(decoded, expected), "seed \(seed) round \(round): \(text)")
            let foundation = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
            #expect(Self.same(JSONValue(foundation: foundation, like: expected), expected), "seed \(seed) round \(round): JSONSerialization reads \(text) differently")
            let encoded = try encoder.encode(expected)
            #expect(Self.same(try decoder.decode(JSONValue.self, from: encoded), expected), "seed \(seed) round \(round): \(String(decoding: encoded, as: UTF8.self))")
            #expect(Self.same(try JSONDecoder().decode(JSONValue.self, from: encoded), expected), "seed \(seed) round \(round): Foundation reads the encoding differently")
        }
    }

    @Test("a mutated document is rejected exactly when Foundation's JSONDecoder rejects it", arguments: ConformanceSuite.propertySeeds)
    func mutatedDocuments(seed: UInt64) throws {
        var generator = Generator(random: SplitMix64(seed: seed ^ 0x5EED))
        let decoder = StrataJSONDecoder()
        let alphabet = Array("{}[],:\" \\-.eE0tfnu/".utf8) + [0x1F, 0x80, 0xC3, 0xFF]
        for round in 0..<200 {
            var bytes = Array(generator.value().1.utf8)
            for _ in 0..<generator.int(1...2) {
                let at = generator.int(0...bytes.count)
                switch generator.int(0...2) {
                case 0 where at < bytes.count: bytes.remove(at: at)
                case 1 where at < bytes.count: bytes[at] = alphabet[generator.int(0...(alphabet.count - 1))]
                default: bytes.insert(alphabet[generator.int(0...(alphabet.count - 1))], at: at)
                }
            }
            // Foundation's JSONDecoder is the reference, except that it (and JSONSerialization)
            // accepts trailing commas, which RFC 8259 does not. A number too large for a Double
            // fails both.
            let foundationAccepts = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) != nil
            var strataAccepts = true
            var trailingComma = false
            do {
                _ = try decoder.decode(JSONValue.self, from: bytes)
            } catch DecodingError.dataCorrupted(let context) {
                strataAccepts = false
                trailingComma = (context.underlyingError as? StrataJSONSyntaxError)?.reason.contains("trailing comma") ?? false
            }
            if foundationAccepts && trailingComma { continue }
            // Foundation's decoder also refuses some valid numbers (`0E9`, values that round to
            // zero such as `1e-400`); JSONSerialization reads them, and so does StrataJSON.
            if strataAccepts && !foundationAccepts && (try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil {
                continue
            }
            #expect(strataAccepts == foundationAccepts, "seed \(seed) round \(round): \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes)")
        }
    }
}
