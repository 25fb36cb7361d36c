import Foundation

/// The arguments of `strata-codegen` (the build-tool plugin's generator):
/// `--input DIR --output FILE [--enum-name NAME] [--conform PROTOCOL]... [--import MODULE]...`.
/// `strata codegen` takes the same options through the CLI's parser.
public struct CodegenArguments: Sendable, Hashable {
    /// The folder of event configs.
    public var input: URL
    /// The Swift file to write.
    public var output: URL
    /// The generation options.
    public var options: CodegenOptions

    /// The usage line.
    public static let usage = "usage: strata-codegen --input DIR --output FILE [--enum-name NAME] [--conform PROTOCOL]... [--import MODULE]..."

    /// Parses arguments (without the program name).
    /// - Throws: ``EventSchemaError/invalidOption(_:)`` for unknown, missing or repeated options.
    public init(parsing arguments: [String]) throws {
        var input: String?
        var output: String?
        var options = CodegenOptions()
        var enumNameSeen = false
        var i = 0
        func value(_ name: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw EventSchemaError.invalidOption("\(name) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            let argument = arguments[i]
            switch argument {
            case "--input":
                guard input == nil else { throw EventSchemaError.invalidOption("--input is given twice") }
                input = try value(argument)
            case "--output":
                guard output == nil else { throw EventSchemaError.invalidOption("--output is given twice") }
                output = try value(argument)
            case "--enum-name":
                guard !enumNameSeen else { throw EventSchemaError.invalidOption("--enum-name is given twice") }
                enumNameSeen = true
                options.enumName = try value(argument)
            case "--conform": options.conformances.append(try value(argument))
            case "--import": options.imports.append(try value(argument))
            default: throw EventSchemaError.invalidOption("unknown argument \"\(argument)\"")
            }
            i += 1
        }
        guard let input else { throw EventSchemaError.invalidOption("--input DIR is required") }
        guard let output else { throw EventSchemaError.invalidOption("--output FILE is required") }
        self.input = URL(fileURLWithPath: input)
        self.output = URL(fileURLWithPath: output)
        self.options = options
    }
}
