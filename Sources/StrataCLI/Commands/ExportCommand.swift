import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataConsumers
import StrataLakehouse
import StrataJSONShapes
import StrataJSON

/// `strata export`: the lakehouse exporter (docs/LAKEHOUSE.md) from the command line.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export events as time-partitioned JSON Lines files for DuckDB (a folder or an S3 bucket).",
        discussion: """
            Writes events/{yyyy}/{mm}/{dd}/{hh}/{source}_{firstPosition}.jsonl[.gz] under --to DIR, or \
            uploads them to an S3-compatible bucket (--s3-endpoint, --s3-bucket; credentials from \
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). The checkpoint lives in --checkpoints as consumer \
            "lakehouse-export:SOURCE": a second run exports only what is new, and a run cut short resumes \
            with no event missing or doubled. Without --follow it exports up to the head and exits; with \
            --follow it keeps exporting until interrupted (Ctrl-C publishes the open file). Prints one \
            JSON summary line.

            --daily DIR writes a live mirror instead: one JSON Lines file per UTC day (--pattern, default \
            events-%y-%m-%d.jsonl), appended as events are stored, for grep and tail -f; its state is \
            DIR/.strata-mirror.json (docs/LAKEHOUSE.md, "Daily mirror").
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The lakehouse folder (holding events/).", valueName: "DIR"))
    var to: String?

    @Option(help: ArgumentHelp("A folder for a daily mirror: one JSON Lines file per UTC day, appended as events are stored.", valueName: "DIR"))
    var daily: String?

    @Option(help: ArgumentHelp("With --daily: the file name pattern, with %y, %m and %d.", valueName: "PATTERN"))
    var pattern: String = "events-%y-%m-%d.jsonl"

    @Option(help: ArgumentHelp("An S3-compatible endpoint, e.g. http://127.0.0.1:9000.", valueName: "URL"))
    var s3Endpoint: String?

    @Option(help: "The S3 bucket.")
    var s3Bucket: String?

    @Option(help: "A key prefix inside the bucket.")
    var s3Prefix: String = ""

    @Option(help: "The S3 region used in signatures.")
    var s3Region: String = "us-east-1"

    @Option(help: ArgumentHelp("Where files are staged before upload (S3 only).", valueName: "DIR"))
    var staging: String = "strata-export-staging"

    @Option(help: "The source name in every file name.")
    var source: String = "strata"

    @Option(help: ArgumentHelp("The folder of the exporter's checkpoint (a FileCheckpointStore).", valueName: "DIR"))
    var checkpoints: String = "strata-checkpoints"

    @Flag(help: "Write .jsonl.gz files.")
    var gzip = false

    @Option(help: "The gzip level, 1 (fastest) to 9 (smallest).")
    var gzipLevel: Int = 1

    @Option(help: "Finish a file at this many MiB of lines.")
    var maxFileMb: Int = 64

    @Option(help: "Finish a file at this many events.")
    var maxFileEvents: Int?

    @Option(help: "Finish a file open this many seconds (with --follow).")
    var maxFileAge: Double = 60

    @Option(help: "Keep files of up to this many hours open at once (events whose times interleave), 1…1024.")
    var maxOpenFiles: Int = 8

    @Option(name: .customLong("stream-prefix"), help: "Export only streams starting with this (repeatable).")
    var streamPrefixes: [String] = []

    @Option(name: .customLong("type"), help: "Export only events of this type (repeatable).")
    var types: [String] = []

    @Flag(help: "Keep exporting new events until interrupted.")
    var follow = false

    @Flag(help: "Show a progress bar on stderr even when it is not a terminal.")
    var progress = false

    func validate() throws {
        if [to != nil, s3Endpoint != nil, daily != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give one of --to DIR, --s3-endpoint URL with --s3-bucket NAME, or --daily DIR")
        }
        if s3Endpoint != nil && s3Bucket == nil { throw ValidationError("--s3-endpoint needs --s3-bucket") }
        if maxFileMb < 1 { throw ValidationError("--max-file-mb must be at least 1") }
        if !(maxFileAge > 0) { throw ValidationError("--max-file-age must be positive") }
        if !(1...1024).contains(maxOpenFiles) { throw ValidationError("--max-open-files must be 1…1024") }
    }

    func run() async throws {
        if let daily { return try await mirror(into: daily) }
        let target = try makeTarget()
        let configuration = ExportConfiguration(
            source: source, filter: EventFilter(streamPrefixes: streamPrefixes, eventTypes: Set(types)),
            compression: gzip ? .gzip(level: gzipLevel) : .none, maxFileBytes: maxFileMb << 20, maxFileEvents: maxFileEvents,
            maxFileAge: .milliseconds(Int64(maxFileAge * 1000)), maxOpenFiles: maxOpenFiles)
        let store = try await global.storeURL().open(.readOnly)
        let summary: ExportSummary
        do {
            let exporter = try LakehouseExporter(store: store, target: target, checkpoints: FileCheckpointStore(directory: checkpoints),
                                                 configuration: configuration)
            let showProgress = progress || StandardOutput.stderr.isTerminal
            let bar = showProgress ? ProgressBar(label: "exporting", format: { "\($0)" }) : nil
            var report: (@Sendable (ExportProgress) -> Void)?
            if let bar {
                report = { p in
                    if let head = p.head {
                        bar.update(done: Int64(p.position), total: Int64(head))
                    } else {
                        StandardOutput.stderr.write("\rexported \(p.events) events in \(p.files) files, position \(p.position)\u{1B}[K")
                        StandardOutput.stderr.flush()
                    }
                }
            }
            if follow {
                let progressReport = report
                summary = try await Self.untilInterrupted { try await exporter.run(onProgress: progressReport) }
            } else {
                summary = try await exporter.exportAvailable(onProgress: report)
            }
            bar?.finish()
            if follow && showProgress { StandardOutput.stderr.write("\r\u{1B}[K") }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        var json = JSONWriter()
        json.beginObject()
        json.field("target", target.location)
        json.key("events")
        json.number(summary.events)
        json.key("files")
        json.number(summary.files)
        json.field("checkpoint", summary.checkpoint)
        json.endObject()
        StandardOutput.stdout.writeLine(json.bytes)
        StandardOutput.stdout.flush()
    }

    /// `--daily DIR`: the daily mirror, to the head or (with --follow) until interrupted.
    private func mirror(into directory: String) async throws {
        let filter = EventFilter(streamPrefixes: streamPrefixes, eventTypes: Set(types))
        let store = try await global.storeURL().open(.readOnly)
        let summary: DailyMirror.Summary
        do {
            let mirror = try DailyMirror(store: store, configuration: DailyMirror.Configuration(directory: directory, pattern: pattern, filter: filter))
            if follow {
                summary = try await Self.untilInterrupted { try await mirror.run() }
            } else {
                summary = try await mirror.mirrorAvailable()
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        var json = JSONWriter()
        json.beginObject()
        json.field("mirror", directory)
        json.key("events"); json.number(summary.events)
        json.field("position", summary.position)
        if let file = summary.file { json.field("file", file) }
        json.endObject()
        StandardOutput.stdout.writeLine(json.bytes)
        StandardOutput.stdout.flush()
    }

    /// Runs `work` in a task that SIGINT or SIGTERM cancels (the exporters then finish their
    /// file and checkpoint and return), and returns its result.
    private static func untilInterrupted<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let signals = [SIGINT, SIGTERM].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        return try await task.value
    }

    private func makeTarget() throws -> any ExportTarget {
        if let to { return try DirectoryTarget(root: to) }
        let environment = ProcessInfo.processInfo.environment
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], let secretKey = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw StrataError.invalidArgument("S3 export needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        }
        let bucket = try S3Bucket(endpoint: s3Endpoint!, bucket: s3Bucket!,
                                  signer: AWSSignatureV4(accessKey: accessKey, secretKey: secretKey, region: s3Region))
        return S3Target(bucket: bucket, prefix: s3Prefix, stagingDirectory: staging)
    }
}
