/// The top-level fields of one JSON object, each value kept as its raw bytes: bulk input embeds
/// `data` and `metadata` byte for byte instead of parsing and re-serializing them. The object is
/// checked by ``JSONTree`` (every number in `Double`'s range); a repeated key is refused.
public struct JSONObjectFields: Sendable {
    /// Field names in input order, with the byte range of each value inside ``bytes``.
    public private(set) var fields: [(name: String, value: Range<Int>)] = []
    /// The object's bytes.
    public let bytes: [UInt8]

    /// Splits a line holding one JSON object.
    /// - Throws: ``InputProblem`` when the line is not one valid JSON object or repeats a key.
    public init(_ line: [UInt8]) throws(InputProblem) {
        bytes = line
        do {
            fields = try JSONTree.parse(line) { tree in
                guard tree.kind(tree.root) == .object else { throw InputProblem("not a valid JSON object: the value is not an object") }
                if let number = tree.firstNumberOutOfRange() {
                    throw InputProblem("not a valid JSON object: a number out of range at byte \(tree.offset(number))")
                }
                var seen = Set<String>()
                var fields: [(name: String, value: Range<Int>)] = []
                fields.reserveCapacity(tree.elementCount(tree.root))
                try tree.forEachMember(of: tree.root) { key, value in
                    let name = tree.string(key)
                    if !seen.insert(name).inserted { throw InputProblem("key \"\(name)\" appears twice") }
                    fields.append((name, tree.byteRange(value)))
                }
                return fields
            }
        } catch let problem as InputProblem {
            throw problem
        } catch {
            throw InputProblem("not a valid JSON object: \((error as? StrataJSONSyntaxError)?.reason ?? "\(error)") at byte \((error as? StrataJSONSyntaxError)?.offset ?? 0)")
        }
    }

    /// The raw bytes of a field's value, if present.
    public func raw(_ name: String) -> ArraySlice<UInt8>? {
        fields.first { $0.name == name }.map { bytes[$0.value] }
    }

    /// A field that must be a JSON string, decoded; nil when absent.
    public func string(_ name: String) throws(InputProblem) -> String? {
        guard let raw = raw(name) else { return nil }
        guard raw.first == UInt8(ascii: "\"") else { throw InputProblem("\"\(name)\" must be a string") }
        return try JSONObjectFields.decodeString(raw)
    }

    /// The raw bytes of each element of a JSON array value (a field's ``raw(_:)`` bytes).
    /// - Throws: when the bytes are not an array.
    public static func arrayElements(_ raw: ArraySlice<UInt8>) throws(InputProblem) -> [ArraySlice<UInt8>] {
        guard raw.first == UInt8(ascii: "[") else { throw InputProblem("expected a JSON array") }
        do {
            return try JSONTree.parse(raw) { tree in
                var elements: [ArraySlice<UInt8>] = []
                elements.reserveCapacity(tree.elementCount(tree.root))
                tree.forEachElement(of: tree.root) { element in
                    let range = tree.byteRange(element)
                    elements.append(raw[(raw.startIndex + range.lowerBound)..<(raw.startIndex + range.upperBound)])
                }
                return elements
            }
        } catch {
            throw InputProblem("expected a JSON array")
        }
    }

    /// The numeric or literal text of a field (`12`, `true`, `null`), nil when absent.
    public func scalar(_ name: String) -> String? {
        guard let raw = raw(name), raw.first != UInt8(ascii: "\""), raw.first != UInt8(ascii: "{"), raw.first != UInt8(ascii: "[") else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    /// Decodes a JSON string token (quotes included).
    public static func decodeString(_ token: ArraySlice<UInt8>) throws(InputProblem) -> String {
        do {
            return try JSONTree.parse(token) { tree in
                guard tree.kind(tree.root) == .string else { throw InputProblem("expected a JSON string") }
                return tree.string(tree.root)
            }
        } catch let problem as InputProblem {
            throw problem
        } catch {
            throw InputProblem("not a valid JSON string: \((error as? StrataJSONSyntaxError)?.reason ?? "\(error)")")
        }
    }
}

/// Why a line or a body of JSON input was rejected.
public struct InputProblem: Error, Sendable, CustomStringConvertible {
    /// What is wrong, for the user.
    public let description: String
    /// Creates a problem report.
    public init(_ description: String) { self.description = description }
}
