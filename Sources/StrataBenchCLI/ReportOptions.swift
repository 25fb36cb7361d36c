import ArgumentParser
import Foundation
import StrataBench
import StrataCommandLine

/// The options both benchmark commands take (`--json`, `--only`, `--work-dir`), and how they
/// print their report.
struct ReportOptions: ParsableArguments {
    @Flag(help: "Print one JSON object on stdout instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("Run only results whose name starts with PREFIX (repeatable).", valueName: "PREFIX"))
    var only: [String] = []

    @Option(help: ArgumentHelp("Where the workloads' temporary stores go (default: the system temporary directory).", valueName: "DIR"))
    var workDir: String?

    /// `--work-dir`, or the system temporary directory.
    /// - Throws: ``CommandFailure/usage(_:)`` when it is not a directory.
    func workDirectory() throws -> String {
        let directory = workDir ?? NSTemporaryDirectory()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure.usage("--work-dir \(directory) is not a directory")
        }
        return directory
    }

    /// Prints `report` on stdout (a table, or with `--json` one JSON object) under the command
    /// line of `subcommand`; a debug build says on stderr, after `label:`, that its figures do not count.
    func print(_ report: BenchReport, subcommand: String, label: String) {
        #if DEBUG
        StandardOutput.stderr.writeLine("\(label): this was a debug build; compare only figures from `swift build -c release`", flushing: true)
        #endif
        let command = BenchOutput.commandLine(subcommand: subcommand)
        if json {
            StandardOutput.stdout.writeLine(BenchOutput.json(report, command: command))
        } else {
            StandardOutput.stdout.write(BenchOutput.table(report, command: command))
        }
        StandardOutput.stdout.flush()
    }
}
