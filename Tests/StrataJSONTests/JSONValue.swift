import Foundation
import StrataJSON

/// Any JSON value, decoded through the generic container API (keyed `allKeys`, unkeyed
/// iteration, single-value probing), and comparable with what JSONSerialization returns.
enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: StrataJSONKey.self) {
            var object: [String: JSONValue] = [:]
            for key in container.allKeys where object[key.stringValue] == nil {
                object[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
        } else if var container = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            while !container.isAtEnd { array.append(try container.decode(JSONValue.self)) }
            self = .array(array)
        } else {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let string = try? container.decode(String.self) {
                self = .string(string)
            } else {
                self = .number(try container.decode(Double.self))
            }
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let values):
            var container = encoder.unkeyedContainer()
            for value in values { try container.encode(value) }
        case .object(let members):
            var container = encoder.container(keyedBy: StrataJSONKey.self)
            for (key, value) in members { try container.encode(value, forKey: StrataJSONKey(stringValue: key)) }
        }
    }

    /// Converts what JSONSerialization returns. Booleans are told from numbers by the
    /// generator's own value (`like`), since Foundation returns both as NSNumber.
    init(foundation value: Any, like expected: JSONValue) {
        switch (value, expected) {
        case (is NSNull, _):
            self = .null
        case (let string as String, _):
            self = .string(string)
        case (let array as [Any], .array(let expectedArray)):
            self = .array(zip(array, expectedArray).map { JSONValue(foundation: $0, like: $1) } + (array.count > expectedArray.count ? [.null] : []))
        case (let object as [String: Any], .object(let expectedObject)):
            var members: [String: JSONValue] = [:]
            for (key, member) in object { members[key] = JSONValue(foundation: member, like: expectedObject[key] ?? .null) }
            self = .object(members)
        case (let number as NSNumber, .bool):
            self = .bool(number.boolValue)
        case (let number as NSNumber, _):
            self = .number(number.doubleValue)
        default:
            self = .string("unexpected \(type(of: value))")
        }
    }
}
