import ArgumentParser
import Foundation
import Strata
import StrataCommandLine

/// `strata`: the command-line tool for Strata stores.
@main
struct StrataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Append, read, follow and check Strata event stores.",
        discussion: """
            Every command takes --store URL: file:PATH (the embedded log engine, default \
            \(StoreURL.defaultText)), sqlite:PATH (one SQLite database file, e.g. sqlite:./events.db), \
            memory: (a fresh store that lives as long as the command), \
            postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?schema=NAME (a PostgreSQL schema), \
            nats://[USER:PASSWORD@]HOST[:PORT][,HOST…]/STORE (a JetStream store), or \
            http(s)://HOST:PORT (a Strata server; its key from STRATA_API_KEY).
            Exit status: 0 success, 1 store failure or corruption found, 2 bad input, 3 conflict.
            """,
        subcommands: [
            InitCommand.self, AppendCommand.self, ReadCommand.self, TailCommand.self, StreamsCommand.self,
            StatsCommand.self, VerifyCommand.self, ConsumersCommand.self, CodegenCommand.self, BenchCommand.self,
            ServeCommand.self, BenchHTTPCommand.self, KeyCommand.self,
            ExportCommand.self, ImportCommand.self, BackupCommand.self, RestoreCommand.self, DeleteCommand.self, MetadataCommand.self,
            ScavengeCommand.self, EraseCommand.self, DocumentsCommand.self,
        ]
    )

    @OptionGroup var global: GlobalOptions

    /// Runs the command and turns every failure into one line on stderr and an exit status.
    /// `strata bench` and `strata bench-http` are handed to `strata-bench` first.
    static func main() async {
        BenchForwarding.forwardIfBench(Array(CommandLine.arguments.dropFirst()))
        await CommandMain.run(StrataCommand.self)
    }
}
