import ArgumentParser
import Foundation
import Strata
import StrataSchema

/// Runs a root command the way `strata` and `strata-bench` do: a failure becomes one line
/// `error: MESSAGE` on stderr and the exit status of ``ExitStatus``.
public enum CommandMain {
    /// Parses the process's arguments for `root`, runs the command, and exits.
    public static func run<Root: ParsableCommand>(_ root: Root.Type) async -> Never {
        // A closed pipe on stdout ends output quietly instead of killing the process mid-write.
        signal(SIGPIPE, SIG_IGN)
        let status: Int32
        do {
            var command = try root.parseAsRoot()
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
            let code = root.exitCode(for: error)
            if code == .success {
                // --help and friends.
                StandardOutput.stdout.flush()
                root.exit(withError: error)
            }
            status = report(root.message(for: error), status: code == .validationFailure ? ExitStatus.badInput : code.rawValue)
        }
        Foundation.exit(status)
    }

    /// Prints `error: MESSAGE` as one line on stderr and returns `status`.
    public static func report(_ message: String, status: Int32) -> Int32 {
        StandardOutput.stdout.flush()
        let oneLine = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
        StandardOutput.stderr.writeLine("error: " + oneLine, flushing: true)
        return status
    }
}

/// Options every command accepts.
public struct GlobalOptions: ParsableArguments {
    /// `--store URL`.
    @Option(name: .long, help: ArgumentHelp("The store: file:PATH, sqlite:PATH or memory:.", valueName: "URL"))
    public var store: String = StoreURL.defaultText

    /// The default options.
    public init() {}

    /// The parsed store URL.
    public func storeURL() throws -> StoreURL { try StoreURL(parsing: store) }
}
