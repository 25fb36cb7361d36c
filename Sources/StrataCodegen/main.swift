import Foundation
import StrataSchema

// Temporary: print generated code for a folder.
let schemas = try EventSchemaSet(folder: URL(fileURLWithPath: CommandLine.arguments[1]))
print(try SwiftCodegen.source(for: schemas, options: CodegenOptions(conformances: ["DomainEvent"])), terminator: "")
