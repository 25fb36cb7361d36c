import ArgumentParser
import Foundation
import StrataCommandLine
import StrataSchema

/// `strata codegen`: Swift types from a folder of event configs.
struct CodegenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codegen",
        abstract: "Generate Swift types from a folder of event configs (docs/SCHEMAS.md).",
        discussion: """
            Reads every *.json file under --input (one event config per file, shared definitions in \
            $definitions.json files) and writes one Swift file: a Codable struct per event, an enum over \
            all events, and the schema table. The file is left untouched when it already holds the same \
            source. Prints one summary line. A bad config fails with exit status 2 and names the file.
            """
    )

    /// Accepted like every command's, and unused: codegen works on files only.
    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The folder of event configs.", valueName: "DIR"))
    var input: String

    @Option(help: ArgumentHelp("The Swift file to write.", valueName: "FILE"))
    var output: String

    @Option(help: ArgumentHelp("The name of the enum over all events.", valueName: "NAME"))
    var enumName: String = "Event"

    @Option(help: ArgumentHelp("A protocol every event struct conforms to (repeatable), e.g. DomainEvent.", valueName: "PROTOCOL"))
    var conform: [String] = []

    @Option(name: .customLong("import"), help: ArgumentHelp("A module to import (repeatable), e.g. StrataModel.", valueName: "MODULE"))
    var imports: [String] = []

    func run() throws {
        let options = CodegenOptions(enumName: enumName, conformances: conform, imports: imports)
        let outcome = try SwiftCodegen.generate(input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output), options: options)
        let counts = "\(outcome.events) event\(outcome.events == 1 ? "" : "s"), \(outcome.definitions) definition\(outcome.definitions == 1 ? "" : "s")"
        StandardOutput.stdout.writeLine(outcome.written ? "wrote \(output) (\(counts))" : "\(output) is up to date (\(counts))")
        StandardOutput.stdout.flush()
    }
}
