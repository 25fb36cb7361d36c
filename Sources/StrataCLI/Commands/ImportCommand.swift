import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataLakehouse
import StrataJSONShapes
import StrataJSON

/// `strata import`: export files back into a store.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import exported .jsonl / .jsonl.gz files (or folders of them) into a store, idempotently by event id.",
        discussion: """
            Folders are searched recursively (skipping _staging); files are read in (source, first position) \
            order. An event whose id is already stored is skipped, so importing twice stores nothing new. \
            Prints one JSON summary line: files, events read, events imported.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Export files or folders.")
    var paths: [String]

    @Option(help: "Events per atomic append.")
    var batch: Int = 1000

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("name at least one file or folder") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() async throws {
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
