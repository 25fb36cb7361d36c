import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataLakehouse
import StrataMigration
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
            from the eventlog positions (docs/MIGRATING.md). Lines that are not JSON objects are reported \
            as "warning: FILE:LINE: reason" on stderr and skipped; the summary counts them as skipped.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Export files or folders.")
    var paths: [String]

    @Option(help: "Events per atomic append.")
    var batch: Int = 1000

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Option(help: ArgumentHelp("What the paths hold: lakehouse (exported files, the default) or eventlog (a folder of @rymdtiden/eventlog daily files).", valueName: "FORMAT"))
    var from: String = "lakehouse"

    @Option(help: ArgumentHelp("With --from eventlog: the daily file name pattern, with %y, %m and %d.", valueName: "PATTERN"))
    var pattern: String = "events-%y-%m-%d.log"

    @Option(help: ArgumentHelp("With --from eventlog: the stream the events go to.", valueName: "STREAM"))
    var stream: String = "eventlog"

    func validate() throws {
        if paths.isEmpty { throw ValidationError("name at least one file or folder") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        guard ["lakehouse", "eventlog"].contains(from) else { throw ValidationError("--from must be lakehouse or eventlog, not \(from)") }
        if from == "eventlog" && paths.count != 1 { throw ValidationError("--from eventlog takes one folder") }
    }

    func run() async throws {
        if from == "eventlog" { return try await importEventlog() }
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
    /// `--from eventlog DIR`.
    private func importEventlog() async throws {
        let importer = try EventlogImport(options: EventlogImport.Options(pattern: pattern, stream: stream, batchSize: batch))
        let files = try importer.files(in: paths[0])
        let showProgress = progress || StandardOutput.stderr.isTerminal
        let store = try await global.storeURL().open(.create)
        let summary: EventlogImport.Summary
        do {
            let total = files.count
            summary = try await importer.run(directory: paths[0], into: store) { so, file in
                guard showProgress else { return }
                StandardOutput.stderr.write("\rimporting \((file.path as NSString).lastPathComponent) (\(so.files)/\(total)): \(so.events) events read, \(so.imported) imported\u{1B}[K")
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
