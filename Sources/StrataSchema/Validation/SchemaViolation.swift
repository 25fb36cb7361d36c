import Strata
import StrataJSON

/// One way an event breaks its schema: where (a JSON path such as `$.data.address.zip` or
/// `$.data.lines[2].sku`) and what.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// The JSON path of the offending value: `$` is the event, `.key` a member (`["key"]` when the
    /// key is not an identifier), `[n]` an array element (0-based).
    public let path: String
    /// What is wrong, for a person.
    public let message: String

    /// Creates a violation.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `PATH: MESSAGE`.
    public var description: String { "\(path): \(message)" }
}

/// One step of a JSON path.
enum PathSegment {
    case key(String)
    case index(Int)

    /// The JSON path text of segments, starting at `$`.
    static func text(_ segments: [PathSegment]) -> String {
        var out = "$"
        for segment in segments {
            switch segment {
            case .index(let i): out += "[\(i)]"
            case .key(let key):
                if isIdentifier(key) {
                    out += "." + key
                } else {
                    out += "["
                    out += JSONWriter.quoted(key)
                    out += "]"
                }
            }
        }
        return out
    }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return key.utf8.allSatisfy { c in
            (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x24
        }
    }
}
