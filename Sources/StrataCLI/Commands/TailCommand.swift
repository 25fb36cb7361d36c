import ArgumentParser
import Dispatch
import Foundation
import Strata
import StrataCommandLine
import StrataJSONShapes

/// `strata tail`: follows a stream or `$all` live, one JSON object per line.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow a stream or '$all' live, printing each event as read does.",
        discussion: """
            Without --from, only events appended after the command starts are printed. Each line is
            flushed as it is written. Runs until SIGINT or SIGTERM (exit status 0) or until --count
            events were printed.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A stream name, or '$all' (the default).")
    var stream: String = Naming.allStream

    @Option(help: ArgumentHelp("Start at this revision (a stream) or position ('$all'), inclusive; 1 for the beginning.", valueName: "N"))
    var from: UInt64?

    @Option(help: ArgumentHelp("Stop after N events.", valueName: "N"))
    var count: Int?

    func validate() throws {
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
    }

    func run() async throws {
        let url = try global.storeURL()
        try Naming.validateReadableStreamName(stream)
        let store = try await url.open(.readOnly)
        let start: SubscriptionStart = from.map { $0 <= 1 ? .start : .after($0 - 1) } ?? .end
        let subscription = stream == Naming.allStream
            ? store.subscribeToAll(from: start)
            : store.subscribe(toStream: stream, from: start)
        let limit = count ?? Int.max
        let follow = Task {
            var printed = 0
            guard printed < limit else { return }
            for try await message in subscription {
                guard case .event(let event) = message else { continue }
                StandardOutput.stdout.writeLine(EventJSON.encode(event), flushing: true)
                printed += 1
                if printed >= limit || StandardOutput.stdout.readerGone { return }
            }
        }
        let stop = StopSignals { follow.cancel() }
        defer { stop.cancel() }
        let outcome = await follow.result
        try? await store.close()
        StandardOutput.stdout.flush()
        try outcome.get()
    }
}

/// Cancels work on SIGINT or SIGTERM instead of letting the signal kill the process.
final class StopSignals {
    private let sources: [any DispatchSourceSignal]

    init(onStop: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "strata.signals")
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler(handler: onStop)
            source.resume()
            return source
        }
    }

    /// Stops listening and restores the default signal handling.
    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
