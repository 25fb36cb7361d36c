import Foundation
import StrataJSON

// Shapes that events use, shared by the StrataJSON suites.

struct Address: Codable, Equatable, Hashable {
    var street: String
    var city: String
    var postcode: String?
}

struct Line: Codable, Equatable, Hashable {
    var sku: String
    var quantity: Int
    var price: Double
}

enum Channel: String, Codable, Equatable {
    case web, store, phone
}

enum Priority: Int, Codable, Equatable {
    case low = 1, high = 9
}

enum Payment: Codable, Equatable {
    case card(last4: String, expires: Int)
    case cash
    case voucher(String, Double)
}

struct Order: Codable, Equatable {
    var id: UUID
    var customer: String
    var lines: [Line]
    var shipping: Address
    var billing: Address?
    var channel: Channel
    var priority: Priority
    var payments: [Payment]
    var totals: [String: Double]
    var tags: [String]
    var note: String?
    var flags: [Bool]
    var nested: [[Int]]
}

struct Numbers: Codable, Equatable {
    var i: Int
    var i8: Int8
    var i16: Int16
    var i32: Int32
    var i64: Int64
    var u: UInt
    var u8: UInt8
    var u16: UInt16
    var u32: UInt32
    var u64: UInt64
    var f: Float
    var d: Double
}

struct Specials: Codable, Equatable {
    var when: Date
    var blob: Data
    var link: URL
    var id: UUID
    var amount: Decimal
}

struct SnakeCased: Codable, Equatable {
    var userId: Int
    var firstName: String
    var homeAddress: Address
    var lastLoginUrl: String
    var attributes: [String: Int]
}

/// A class hierarchy that codes its superclass through `superEncoder()` / `superDecoder()`.
class Animal: Codable, Equatable {
    var legs: Int
    init(legs: Int) { self.legs = legs }
    static func == (a: Animal, b: Animal) -> Bool { a.legs == b.legs && type(of: a) == type(of: b) && a.isEqual(b) }
    func isEqual(_ other: Animal) -> Bool { true }
}

final class Dog: Animal {
    var name: String
    enum CodingKeys: String, CodingKey { case name }

    init(name: String, legs: Int) {
        self.name = name
        super.init(legs: legs)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        try super.init(from: container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try super.encode(to: container.superEncoder())
    }

    override func isEqual(_ other: Animal) -> Bool { (other as? Dog)?.name == name }
}

/// Custom coding with nested keyed and unkeyed containers and decodeNil.
struct Matrix: Codable, Equatable {
    var name: String
    var rows: [[Double?]]

    enum CodingKeys: String, CodingKey { case meta, rows }
    enum MetaKeys: String, CodingKey { case name }

    init(name: String, rows: [[Double?]]) {
        self.name = name
        self.rows = rows
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let meta = try container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
        name = try meta.decode(String.self, forKey: .name)
        var outer = try container.nestedUnkeyedContainer(forKey: .rows)
        var rows: [[Double?]] = []
        while !outer.isAtEnd {
            var inner = try outer.nestedUnkeyedContainer()
            var row: [Double?] = []
            while !inner.isAtEnd {
                if try inner.decodeNil() {
                    row.append(nil)
                } else {
                    row.append(try inner.decode(Double.self))
                }
            }
            rows.append(row)
        }
        self.rows = rows
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var meta = container.nestedContainer(keyedBy: MetaKeys.self, forKey: .meta)
        try meta.encode(name, forKey: .name)
        var outer = container.nestedUnkeyedContainer(forKey: .rows)
        for row in rows {
            var inner = outer.nestedUnkeyedContainer()
            for value in row {
                if let value { try inner.encode(value) } else { try inner.encodeNil() }
            }
        }
    }
}

/// Writes into a container after opening a later one: cannot be streamed.
struct OutOfOrder: Encodable {
    enum Keys: String, CodingKey { case a, b, c }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .a)
        try container.encode(1, forKey: .b)
        try nested.encode(2, forKey: .c)
    }
}

/// Encodes nothing at all.
struct Silent: Codable, Equatable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
}

extension Order {
    static let sample = Order(
        id: UUID(uuidString: "4C1B7A38-2F55-4F43-9F4E-6A8D2B3C1D0E")!,
        customer: "Zoë \"Z\" O'Brien\\\n\t😀",
        lines: [Line(sku: "SKU-1", quantity: 2, price: 19.99), Line(sku: "SKU/2", quantity: 1, price: 0.1)],
        shipping: Address(street: "1 Rue de la Paix", city: "Paris", postcode: nil),
        billing: Address(street: "221B Baker St", city: "London", postcode: "NW1 6XE"),
        channel: .store, priority: .high,
        payments: [.card(last4: "4242", expires: 2_712), .cash, .voucher("XMAS", 5.5)],
        totals: ["net": 40.08, "tax": 8.02, "gross": 48.1],
        tags: ["gift", "", "\u{0001}\u{001F}", "日本語"],
        note: nil, flags: [true, false], nested: [[], [1], [2, 3]])
}

/// Both decoders' results for the same bytes.
func decodeBoth<T: Decodable>(_ type: T.Type, _ json: String,
                              configure: (JSONDecoder, StrataJSONDecoder) -> Void = { _, _ in }) throws -> (foundation: T, strata: T) {
    let foundation = JSONDecoder()
    let strata = StrataJSONDecoder()
    configure(foundation, strata)
    let data = Data(json.utf8)
    return (try foundation.decode(T.self, from: data), try strata.decode(T.self, from: data))
}

/// The bytes as a JSON object tree, for comparisons that ignore key order and formatting.
func tree(_ data: Data) throws -> NSObject {
    try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) as! NSObject
}
