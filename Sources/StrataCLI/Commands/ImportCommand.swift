import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataLakehouse
import StrataMigration
import StrataNATS
import StrataStores
import StrataJSONShapes
import StrataJSON

/// `strata import`: export files back into a store.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import exported .jsonl / .jsonl.gz files (or folders of them), or another system's data (--from), into a store, idempotently by event id.",
        discussion: """
            Folders are searched recursively (skipping _staging); files are read in (source, first position) \
            order. An event whose id is already stored is skipped, so importing twice stores nothing new. \
            Prints one JSON summary line: files, events read, events imported.

            --from eventlog DIR reads @rymdtiden/eventlog's daily files (--pattern, default \
            events-%y-%m-%d.log) into one stream (--stream, default eventlog), in order, with ids derived \
            from the eventlog positions (docs/MIGRATING.md).

            --from simple-event-sourcing DIR reads @mountainpass/simple-event-sourcing's chunk files \
            (*.jsonl and *.jsonl.gz, in natural name order) into one stream (--stream, default the source \
            name: --source, default the folder's name), with ids derived from the source name and each \
            event's index.

            --from eventbase nats://[CREDENTIALS@]HOST:PORT/STREAM reads every message of a NATS JetStream \
            stream (@markwylde/eventbase's streamName) into one stream (--stream, default the JetStream \
            stream's name), with ids derived from the stream sequence and the server's storage time as \
            the event time; credentials and tls/caFile as in nats:// store URLs.

            --from dotdo ROOT reads @dotdo/events lakehouse files copied from its bucket \
            (ROOT/events/YYYY/MM/DD/HH/{do_id}_{timestamp}.jsonl) into one stream (--stream, default dotdo), \
            in time order, keeping each event's ts and Durable Object as its time and source.

            With --from, lines that are not JSON objects are reported as "warning: FILE:LINE: reason" on \
            stderr and skipped; the summary counts them as skipped.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Export files or folders.")
    var paths: [String]

    @Option(help: "Events per atomic append.")
    var batch: Int = 1000

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Option(help: ArgumentHelp("What the paths hold: lakehouse (exported files, the default), eventlog (a folder of @rymdtiden/eventlog daily files), simple-event-sourcing (a folder of @mountainpass/simple-event-sourcing chunk files), eventbase (a nats:// URL of an @markwylde/eventbase JetStream stream) or dotdo (a copy of an @dotdo/events bucket).", valueName: "FORMAT"))
    var from: String = "lakehouse"

    @Option(help: ArgumentHelp("With --from eventlog: the daily file name pattern, with %y, %m and %d.", valueName: "PATTERN"))
    var pattern: String = "events-%y-%m-%d.log"

    @Option(help: ArgumentHelp("With --from: the stream the events go to (default eventlog, or the simple-event-sourcing source name).", valueName: "STREAM"))
    var stream: String?

    @Option(help: ArgumentHelp("With --from simple-event-sourcing: the event source's name (default the folder's name), part of every derived id.", valueName: "NAME"))
    var source: String?

    func validate() throws {
        if paths.isEmpty { throw ValidationError("name at least one file or folder") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        let formats = ["lakehouse", "eventlog", "simple-event-sourcing", "eventbase", "dotdo"]
        guard formats.contains(from) else { throw ValidationError("--from must be \(formats.joined(separator: ", ")), not \(from)") }
        if from != "lakehouse" && paths.count != 1 { throw ValidationError("--from \(from) takes one \(from == "eventbase" ? "nats:// URL" : "folder")") }
        if from == "eventbase" && !paths[0].hasPrefix("nats://") { throw ValidationError("--from eventbase takes a nats://HOST:PORT/STREAM URL, not \(paths[0])") }
        if source != nil && from != "simple-event-sourcing" { throw ValidationError("--source goes with --from simple-event-sourcing") }
    }

    func run() async throws {
        switch from {
        case "eventlog":
            let importer = try EventlogImport(options: EventlogImport.Options(pattern: pattern, stream: stream ?? "eventlog", batchSize: batch))
            return try await importSeed(files: try importer.files(in: paths[0]).count) { store, progress in
                try await importer.run(directory: paths[0], into: store) { summary, file in progress(summary, file.path) }
            }
        case "simple-event-sourcing":
            let importer = try SimpleEventSourcingImport(options: SimpleEventSourcingImport.Options(source: source, stream: stream, batchSize: batch))
            return try await importSeed(files: try importer.files(in: paths[0]).count) { store, progress in
                try await importer.run(directory: paths[0], into: store, onProgress: progress)
            }
        case "dotdo":
            let importer = try DotdoLakehouseImport(options: DotdoLakehouseImport.Options(stream: stream ?? "dotdo", batchSize: batch))
            return try await importSeed(files: try importer.files(in: paths[0]).count) { store, progress in
                try await importer.run(root: paths[0], into: store, onProgress: progress)
            }
        case "eventbase":
            let importer = try NATSStreamImport(options: NATSStreamImport.Options(stream: stream, batchSize: batch))
            let (configuration, source) = try StoreScheme.natsSource(paths[0], environment: ProcessInfo.processInfo.environment)
            let connection: NATSConnection
            do { connection = try await NATSConnection.connect(configuration) } catch let e as NATSError {
                throw StrataError.io(path: paths[0], operation: "connect", reason: e.description)
            }
            defer { Task { try? await connection.close() } }
            return try await importSeed(files: 1) { store, progress in
                try await importer.run(source: source, from: JetStream(connection: connection, timeout: .seconds(10)), into: store) { summary, _ in
                    progress(summary, source)
                }
            }
        default:
            break
        }
        let files = try LakehouseImporter.files(in: paths)
        let store = try await global.storeURL().open(.create)
        let summary: ImportSummary
        do {
            let showProgress = progress || StandardOutput.stderr.isTerminal
            let total = files.count
            let done = LockedCounter()
            var report: (@Sendable (ImportProgress) -> Void)?
            if showProgress {
                report = { (p: ImportProgress) in
                    let line = "\rimporting file \(done.value(for: p.file))/\(total): \(p.read) events read, \(p.imported) imported\u{1B}[K"
                    StandardOutput.stderr.write(line)
                    StandardOutput.stderr.flush()
                }
            }
            summary = try await LakehouseImporter(store: store, batchSize: batch).importFiles(files, onProgress: report)
            if showProgress { StandardOutput.stderr.write("\r\u{1B}[K") }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        var json = JSONWriter()
        json.beginObject()
        json.key("files")
        json.number(summary.files)
        json.key("read")
        json.number(summary.read)
        json.key("imported")
        json.number(summary.imported)
        json.endObject()
        StandardOutput.stdout.writeLine(json.bytes)
        StandardOutput.stdout.flush()
    }
}

extension ImportCommand {
    /// `--from eventlog|simple-event-sourcing DIR`: runs a seed importer with a progress line,
    /// reports its problems as warnings, and prints its summary.
    private func importSeed(files total: Int,
                            _ body: (any EventStore, @escaping @Sendable (SeedImportSummary, String) -> Void) async throws -> SeedImportSummary) async throws {
        let showProgress = progress || StandardOutput.stderr.isTerminal
        let store = try await global.storeURL().open(.create)
        let summary: SeedImportSummary
        do {
            summary = try await body(store) { so, path in
                guard showProgress else { return }
                StandardOutput.stderr.write("\rimporting \((path as NSString).lastPathComponent) (\(so.files)/\(total)): \(so.events) events read, \(so.imported) imported\u{1B}[K")
                StandardOutput.stderr.flush()
            }
            if showProgress { StandardOutput.stderr.write("\r\u{1B}[K") }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        for problem in summary.problems { StandardOutput.stderr.writeLine("warning: \(problem)") }
        StandardOutput.stderr.flush()
        var json = JSONWriter()
        json.beginObject()
        json.key("files"); json.number(summary.files)
        json.key("read"); json.number(summary.events)
        json.key("imported"); json.number(summary.imported)
        json.key("skipped"); json.number(summary.problems.count)
        json.endObject()
        StandardOutput.stdout.writeLine(json.bytes)
        StandardOutput.stdout.flush()
    }
}

/// Numbers the files an import reports progress for.
private final class LockedCounter: @unchecked Sendable {
    // @unchecked: the fields are guarded by `lock`.
    private let lock = NSLock()
    private var last = ""
    private var count = 0

    func value(for file: String) -> Int {
        lock.withLock {
            if file != last {
                last = file
                count += 1
            }
            return count
        }
    }
}
