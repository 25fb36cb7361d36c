/// A problem with event configs or with code generation. Every case names the file at fault.
public enum EventSchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A file or folder could not be read.
    case unreadable(path: String, reason: String)
    /// A file is not valid JSON.
    case malformedJSON(file: String, line: Int, column: Int, reason: String)
    /// An event config has no `type`.
    case missingType(file: String)
    /// Two event configs declare the same type.
    case duplicateType(type: String, file: String, firstFile: String)
    /// Two `$definitions.json` files (or one, twice) declare the same definition.
    case duplicateDefinition(name: String, file: String, firstFile: String)
    /// A config is valid JSON but not a valid config: an unknown keyword or type name, a bad
    /// `$ref`, a wrong value for a keyword. `path` is a JSON Pointer into the file.
    case invalidSchema(file: String, path: String, reason: String)
    /// A folder holds no event config.
    case noEvents(folder: String)
    /// Two configs map to the same Swift name.
    case nameCollision(name: String, file: String, otherFile: String)
    /// A code generation option is not usable (for example, not a Swift identifier).
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .malformedJSON(let file, let line, let column, let reason):
            "\(file):\(line):\(column): not valid JSON: \(reason)"
        case .missingType(let file):
            "\(file): the event config has no \"type\"; add \"type\": \"context:event-name\""
        case .duplicateType(let type, let file, let firstFile):
            "\(file): event type \"\(type)\" is already declared in \(firstFile); each type belongs to one file"
        case .duplicateDefinition(let name, let file, let firstFile):
            "\(file): definition \"\(name)\" is already declared in \(firstFile)"
        case .invalidSchema(let file, let path, let reason):
            "\(file): invalid schema at \(path.isEmpty ? "/" : path): \(reason)"
        case .noEvents(let folder):
            "\(folder) holds no event config (*.json files other than $definitions.json)"
        case .nameCollision(let name, let file, let otherFile):
            "\(file): its Swift name \(name) is already taken by \(otherFile); rename one of them"
        case .invalidOption(let reason):
            "invalid code generation option: \(reason)"
        }
    }
}
