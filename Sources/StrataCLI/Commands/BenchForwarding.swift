import ArgumentParser
import Foundation
import StrataCommandLine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `strata bench` and `strata bench-http` live in the separate `strata-bench` executable, so
/// that `strata` does not link the benchmark harness. `strata` finds `strata-bench` next to its
/// own binary and replaces itself with it (exec), passing the arguments on unchanged.
enum BenchForwarding {
    /// `strata` subcommand → `strata-bench` subcommand.
    static let subcommands = [BenchCommand.configuration.commandName!: BenchCommand.benchSubcommand,
                              BenchHTTPCommand.configuration.commandName!: BenchHTTPCommand.benchSubcommand]

    /// Execs `strata-bench` when the subcommand in `arguments` (after any `--store URL` given
    /// before it) is `bench` or `bench-http`; returns otherwise.
    static func forwardIfBench(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            if token == "--store" || token.hasPrefix("--store=") {
                index += token == "--store" ? 2 : 1
                continue
            }
            if token.hasPrefix("-") { return }
            guard let subcommand = subcommands[token] else { return }
            exec(subcommand: subcommand, as: "strata \(token)", arguments: Array(arguments[..<index] + arguments[(index + 1)...]))
        }
    }

    /// The `strata-bench` executable next to this one, if it is there.
    static var sibling: String {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let binary = own.path == "/proc/self/exe" ? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath() : own
        return binary.deletingLastPathComponent().appendingPathComponent("strata-bench").path
    }

    /// Replaces this process with `strata-bench SUBCOMMAND ARGUMENTS`; prints one line and exits
    /// 1 when `strata-bench` is not installed next to `strata`.
    static func exec(subcommand: String, as name: String, arguments: [String]) -> Never {
        let path = sibling
        guard FileManager.default.isExecutableFile(atPath: path) else {
            _ = CommandMain.report("\(name) runs strata-bench, which is not installed next to strata (\(path)): "
                + "build it with `swift build -c release --product strata-bench` and put it beside strata", status: ExitStatus.failure)
            exit(ExitStatus.failure)
        }
        // The bench prints the command it ran; it says `strata bench …` when started this way.
        setenv("STRATA_BENCH_INVOKED_AS", name, 1)
        let argv = ([path, subcommand] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        _ = CommandMain.report("\(name): cannot run \(path): \(String(cString: strerror(errno)))", status: ExitStatus.failure)
        exit(ExitStatus.failure)
    }
}

/// A `strata` subcommand that `strata-bench` runs: listed in `strata --help`, forwarded by
/// ``BenchForwarding`` before parsing (and by `run` when reached after root options).
protocol ForwardedBenchCommand: ParsableCommand {
    /// The `strata-bench` subcommand it runs.
    static var benchSubcommand: String { get }
    /// Everything after the subcommand's name.
    var arguments: [String] { get }
}

extension ForwardedBenchCommand {
    func run() throws {
        BenchForwarding.exec(subcommand: Self.benchSubcommand, as: "strata " + Self.configuration.commandName!, arguments: arguments)
    }
}

/// `strata bench`: `strata-bench store`.
struct BenchCommand: ForwardedBenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure appends, reads, subscriptions and open time, next to SQLite and the raw disk (runs strata-bench).",
        discussion: "Runs `strata-bench store` from the directory of strata; `strata bench --help` lists its options.")
    static let benchSubcommand = "store"
    @Argument(parsing: .captureForPassthrough, help: "The options of strata-bench store.") var arguments: [String] = []
}

/// `strata bench-http`: `strata-bench http`.
struct BenchHTTPCommand: ForwardedBenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-http", abstract: "Measure the HTTP server: appends per second and SSE fan-out latency (runs strata-bench).",
        discussion: "Runs `strata-bench http` from the directory of strata; `strata bench-http --help` lists its options.")
    static let benchSubcommand = "http"
    @Argument(parsing: .captureForPassthrough, help: "The options of strata-bench http.") var arguments: [String] = []
}
