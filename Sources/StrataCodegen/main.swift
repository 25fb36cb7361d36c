import Foundation
import StrataSchema

// `strata-codegen`: the generator alone, run by StrataCodegenPlugin at build time. Prints one
// `error: …` line and exits 2 for bad arguments or configs, 1 when the output cannot be written.
do {
    let arguments = try CodegenArguments(parsing: Array(CommandLine.arguments.dropFirst()))
    try SwiftCodegen.generate(input: arguments.input, output: arguments.output, options: arguments.options)
} catch let error as EventSchemaError {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    if case .invalidOption = error { FileHandle.standardError.write(Data(CodegenArguments.usage.utf8 + [0x0A])) }
    exit(2)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
