import ArgumentParser
import Foundation
import Strata
import StrataSchema

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
            StatsCommand.self, VerifyCommand.self, ConsumersCommand.self, CodegenCommand.self, BenchCommand.self, OpenProbeCommand.self,
            ServeCommand.self, BenchHTTPCommand.self, KeyCommand.self,
            ExportCommand.self, ImportCommand.self, BackupCommand.self, RestoreCommand.self, DeleteCommand.self, MetadataCommand.self,
        ]
    )

    @OptionGroup var global: GlobalOptions

    /// Runs the command and turns every failure into one line on stderr and an exit status.
    static func main() async {
        // A closed pipe on stdout ends output quietly instead of killing the process mid-write.
        signal(SIGPIPE, SIG_IGN)
        let status: Int32
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = ExitStatus.success
        } catch let error as StrataError {
            status = report(error.description, status: ExitStatus.of(error))
        } catch let error as EventSchemaError {
            status = report(error.description, status: ExitStatus.of(error))
        } catch let error as CommandFailure {
            status = report(error.description, status: ExitStatus.of(error))
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and friends.
                StandardOutput.stdout.flush()
                exit(withError: error)
            }
            status = report(message(for: error), status: code == .validationFailure ? ExitStatus.badInput : code.rawValue)
        }
        Foundation.exit(status)
    }

    /// Prints `error: MESSAGE` as one line on stderr.
    private static func report(_ message: String, status: Int32) -> Int32 {
        StandardOutput.stdout.flush()
        let oneLine = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        StandardOutput.stderr.writeLine("error: " + oneLine, flushing: true)
        return status
    }
}

/// Options every command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store: file:PATH, sqlite:PATH or memory:.", valueName: "URL"))
    var store: String = StoreURL.defaultText

    /// The parsed store URL.
    func storeURL() throws -> StoreURL { try StoreURL(parsing: store) }
}
