import ArgumentParser
import Strata
import StrataCommandLine

/// `strata streams`: lists existing streams.
struct StreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "List existing streams, one name per line, in ascending byte order."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Only streams whose name starts with this prefix.")
    var prefix: String = ""

    func run() async throws {
        try await global.storeURL().withStore(.readOnly) { store in
            for try await name in store.listStreams(prefix: prefix) {
                StandardOutput.stdout.writeLine(name)
            }
            StandardOutput.stdout.flush()
        }
    }
}
