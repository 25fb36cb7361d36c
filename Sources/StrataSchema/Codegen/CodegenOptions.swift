/// Choices for generated Swift code.
///
/// ```swift
/// let options = CodegenOptions(enumName: "Event", conformances: ["DomainEvent"], imports: ["StrataModel"])
/// let source = try SwiftCodegen.source(for: schemas, options: options)
/// ```
public struct CodegenOptions: Sendable, Hashable {
    /// The name of the enum over all events (which also holds the schema table). Default `Event`.
    public var enumName: String
    /// Protocols every event struct conforms to besides `Codable, Sendable, Hashable` (for
    /// example `DomainEvent`); their requirements must be met by `static let eventType: String`
    /// and Codable.
    public var conformances: [String]
    /// Modules imported besides Foundation (for example the module that declares a conformance).
    public var imports: [String]

    /// Creates options.
    public init(enumName: String = "Event", conformances: [String] = [], imports: [String] = []) {
        self.enumName = enumName
        self.conformances = conformances
        self.imports = imports
    }

    /// Throws ``EventSchemaError/invalidOption(_:)`` when a name is not usable in Swift.
    func validate() throws {
        guard SwiftNames.isIdentifier(Substring(enumName)), !SwiftNames.keywords.contains(enumName),
              !SwiftNames.unusableMembers.contains(enumName) else {
            throw EventSchemaError.invalidOption("the enum name \"\(enumName)\" is not a Swift type name")
        }
        if SwiftNames.reservedTypes.contains(enumName) {
            throw EventSchemaError.invalidOption("the enum name \"\(enumName)\" would hide a Swift or Foundation type")
        }
        for name in conformances where !isQualifiedName(name) {
            throw EventSchemaError.invalidOption("the conformance \"\(name)\" is not a Swift type name")
        }
        for name in imports where !isQualifiedName(name) {
            throw EventSchemaError.invalidOption("the import \"\(name)\" is not a Swift module name")
        }
    }

    private func isQualifiedName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty && parts.allSatisfy { SwiftNames.isIdentifier($0) && !SwiftNames.keywords.contains(String($0)) }
    }
}
