import Foundation
import Strata
import StrataJSON

/// The JSON reader and writer of documents and document events, on Strata's one JSON parser
/// (`JSONTree`) and writer (`JSONWriter`). Nesting is at most
/// ``maxDepth`` deep (documents are walked recursively by filters and sorting); a repeated key
/// keeps its last value, as in a dictionary literal.
enum DocumentJSON {
    /// The deepest nesting accepted.
    static let maxDepth = 256

    static func parse(_ bytes: some Collection<UInt8>) throws -> DocumentValue {
        do {
            return try JSONTree.parse(bytes, options: .init(maxDepth: maxDepth)) { tree in try value(tree, tree.root) }
        } catch let error as StrataJSONSyntaxError {
            throw StrataError.invalidArgument("invalid JSON at byte \(error.offset): \(error.reason)")
        }
    }

    private static func value(_ tree: JSONTree, _ node: Int) throws -> DocumentValue {
        switch tree.kind(node) {
        case .null: return .null
        case .bool: return .bool(tree.bool(node))
        case .string: return .string(tree.string(node))
        case .number:
            switch tree.number(node) {
            case .integer(let i): return .int(i)
            case .double(let d): return .double(d)
            case nil: throw tree.syntaxError(at: node, "a number out of range")
            }
        case .array:
            var elements: [DocumentValue] = []
            elements.reserveCapacity(tree.elementCount(node))
            try tree.forEachElement(of: node) { elements.append(try value(tree, $0)) }
            return .array(elements)
        case .object:
            var members: [String: DocumentValue] = [:]
            members.reserveCapacity(tree.elementCount(node))
            try tree.forEachMember(of: node) { key, member in members[tree.string(key)] = try value(tree, member) }
            return .object(members)
        }
    }

    // MARK: Writing

    static func write(_ value: DocumentValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: nullBytes)
        case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
        case .int(let i): writeInt(i, into: &out)
        case .double(let d): writeDouble(d, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            writeObject(o, addingID: nil, into: &out)
        }
    }

    /// Writes an object with members sorted by key; `addingID` adds an `"id"` member (when the
    /// object has none) without copying the object.
    static func writeObject(_ o: [String: DocumentValue], addingID: String?, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var keys = Array(o.keys)
        if addingID != nil, o["id"] == nil { keys.append("id") }
        keys.sort(by: utf8Less)
        var first = true
        for key in keys {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            if let value = o[key] { write(value, into: &out) } else { writeString(addingID!, into: &out) }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Object members are written in the byte order of their keys, so output is the same on
    /// every platform and run.
    static func utf8Less(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)

    static func writeInt(_ value: Int64, into out: inout [UInt8]) { JSONWriter.appendInteger(value, to: &out) }

    /// A double keeps its `.0` so that it reads back as a double; non-finite numbers are refused
    /// when documents are written, and `null` keeps the output valid JSON.
    static func writeDouble(_ value: Double, into out: inout [UInt8]) { JSONWriter.appendDouble(value, keepsFraction: true, to: &out) }

    static func writeString(_ s: String, into out: inout [UInt8]) { JSONWriter.appendString(s, to: &out) }
}
