import ArgumentParser
import Strata
import StrataCommandLine
import StrataJSONShapes

/// `strata read`: prints the events of a stream or of `$all`, one JSON object per line.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Print the events of a stream or of '$all', one JSON object per line.",
        discussion: """
            Each line has the keys position, stream, revision, id, type, data, metadata, recordedAt.
            data and metadata are embedded as JSON when the content type is JSON and the bytes parse,
            otherwise they are base64 strings; metadata is null when absent. recordedAt is ISO 8601
            UTC with microseconds.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A stream name, or '$all' for every stream in position order.")
    var stream: String

    @Option(help: ArgumentHelp("Start at this revision (a stream) or position ('$all'), inclusive.", valueName: "N"))
    var from: UInt64?

    @Flag(help: "Read newest first.")
    var backward = false

    @Option(help: ArgumentHelp("Print at most N events.", valueName: "N"))
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }

    func run() async throws {
        let url = try global.storeURL()
        try Naming.validateReadableStreamName(stream)
        try await url.withStore(.readOnly) { store in
            let direction: ReadDirection = backward ? .backward : .forward
            let origin: ReadOrigin = from.map(ReadOrigin.at) ?? (backward ? .end : .start)
            let events = stream == Naming.allStream
                ? store.readAll(from: origin, direction: direction, limit: limit)
                : store.readStream(stream, from: origin, direction: direction, limit: limit)
            for try await event in events {
                StandardOutput.stdout.writeLine(EventJSON.encode(event))
                if StandardOutput.stdout.readerGone { break }
            }
            StandardOutput.stdout.flush()
        }
    }
}
