/// How config names become Swift names (docs/SCHEMAS.md, "Naming rules").
enum SwiftNames {
    /// Words of a name: runs of ASCII letters and digits; everything else separates.
    static func words(_ raw: String) -> [Substring] {
        raw.split { c in !(c.isASCII && (c.isLetter || c.isNumber)) }
    }

    /// `user:email-set` → `UserEmailSet`: each word with its first letter uppercased
    /// (`2fa:enabled` → `_2FaEnabled`, so that it differs from the member name `_2faEnabled`).
    static func typeName(_ raw: String) -> String {
        let name = words(raw).map { word in
            guard let letter = word.firstIndex(where: \.isLetter) else { return String(word) }
            return String(word[..<letter]) + word[letter...].prefix(1).uppercased() + word[word.index(after: letter)...]
        }.joined()
        return fix(name.isEmpty ? "Value" : name)
    }

    /// `zip-code` → `zipCode`, `ID` → `id`, `URLPath` → `urlPath`: lower camel case.
    static func memberName(_ raw: String) -> String {
        let parts = words(raw)
        guard let first = parts.first else { return "value" }
        var name = lowerLeadingCapitals(first)
        for word in parts.dropFirst() { name += word.prefix(1).uppercased() + word.dropFirst() }
        return fix(name)
    }

    /// Lowercases the leading run of capitals, keeping the last one when a lowercase letter
    /// follows (`URLPath` → `urlPath`).
    static func lowerLeadingCapitals(_ word: Substring) -> String {
        let chars = Array(word)
        var run = 0
        while run < chars.count, chars[run].isUppercase { run += 1 }
        if run == 0 { return String(word) }
        if run == chars.count || run == 1 { return String(chars[0..<run]).lowercased() + String(chars[run...]) }
        return String(chars[0..<(run - 1)]).lowercased() + String(chars[(run - 1)...])
    }

    /// Names may not start with a digit.
    private static func fix(_ name: String) -> String {
        name.first?.isNumber == true ? "_" + name : name
    }

    /// Keywords that can be used as names when written in backticks.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer",
        "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
        "while", "as", "await", "false", "is", "nil", "super", "throws", "true", "try", "Any", "some", "any", "repeat",
    ]

    /// Member names that stay confusing even in backticks; they get a `Value` suffix.
    static let unusableMembers: Set<String> = ["self", "Self", "super", "init", "deinit", "subscript", "Type", "Protocol"]

    /// Type names generated code must not shadow (standard library and Foundation types it
    /// uses, and type names with a special meaning); a config name equal to one gets a suffix.
    static let reservedTypes: Set<String> = [
        "Any", "AnyObject", "Array", "Bool", "Character", "Codable", "CodingKey", "CodingKeys", "Data", "Date",
        "Decodable", "Decoder", "DecodingError", "Dictionary", "Double", "Encodable", "Encoder", "EncodingError",
        "Error", "Float", "Foundation", "Hashable", "Int", "Int64", "JSONDecoder", "JSONEncoder", "Never", "Optional",
        "Protocol", "Self", "Sendable", "Set", "String", "Substring", "Swift", "Type", "URL", "UUID", "Void",
    ]

    /// A member name as written in code: in backticks when it is a keyword.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// Whether text is a plain identifier (ASCII letters, digits, `_`, not starting with a digit).
    static func isIdentifier(_ text: Substring) -> Bool {
        guard let first = text.first, !first.isNumber else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// A Swift string literal of `text`.
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A single-line raw string literal of `text` (which holds no line breaks), with enough `#`
    /// that nothing inside ends it or escapes.
    static func rawLiteral(_ text: String) -> String {
        var hashes = 1
        while text.contains("\"" + String(repeating: "#", count: hashes)) || text.contains("\\" + String(repeating: "#", count: hashes)) {
            hashes += 1
        }
        let h = String(repeating: "#", count: hashes)
        return h + "\"" + text + "\"" + h
    }
}

/// Names already taken in one scope of generated code.
struct NameScope {
    private(set) var used: Set<String>

    init(reserved: Set<String> = []) { used = reserved }

    /// A fresh name from `base`: `base`, then `base2`, `base3` …
    mutating func claim(_ base: String) -> String {
        var name = base
        var n = 2
        while used.contains(name) {
            name = base + String(n)
            n += 1
        }
        used.insert(name)
        return name
    }
}
