import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataJSONShapes
import StrataJSON

/// `strata delete STREAM [--tombstone]`: deletes a stream (docs/CONTRACT.md, "Deleting").
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a stream: soft (its name can be written again, from the next revision) or --tombstone (for good).",
        discussion: "Prints {\"stream\": NAME, \"mode\": \"soft\"|\"tombstone\"}. Exit 3 when --expected-revision does not hold."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream.")
    var stream: String

    @Flag(help: "Tombstone the stream: it can never be written again.")
    var tombstone = false

    @Option(help: "Delete only at this revision: a number, any, no-stream or exists (default any).")
    var expectedRevision: String = "any"

    func run() async throws {
        let expected = try parseExpectedRevision(expectedRevision)
        try await global.storeURL().withStore(.existing) { store in
            try await store.deleteStream(stream, expectedRevision: expected, mode: tombstone ? .tombstone : .soft)
        }
        var name = ""
        name += JSONWriter.quoted(stream)
        StandardOutput.stdout.writeLine(#"{"stream":\#(name),"mode":"\#(tombstone ? "tombstone" : "soft")"}"#)
        StandardOutput.stdout.flush()
    }
}

/// `strata metadata STREAM [--max-count N] [--max-age S] [--truncate-before R] [--custom JSON] [--clear]`.
struct MetadataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata",
        abstract: "Print a stream's metadata, or change it: what is given replaces that field, the rest is kept.",
        discussion: """
            Prints the metadata (after the change) as one JSON object: maxCount, maxAge (seconds), \
            truncateBefore (a revision) and custom (a JSON object), each only when set. --clear removes \
            every field first. Reads then hide the events the metadata rules out (docs/CONTRACT.md).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The stream.")
    var stream: String

    @Option(help: "Keep only the newest N events of the stream.")
    var maxCount: Int?

    @Option(help: "Hide events older than this many seconds.")
    var maxAge: Double?

    @Option(help: "Hide events before this revision.")
    var truncateBefore: UInt64?

    @Option(help: "Application metadata, a JSON object.")
    var custom: String?

    @Flag(help: "Remove every field before applying the options given.")
    var clear = false

    func run() async throws {
        if let maxCount, maxCount < 1 { throw ValidationError("--max-count must be at least 1") }
        if let maxAge, !(maxAge > 0) { throw ValidationError("--max-age must be a positive number of seconds") }
        if let custom, !JSONSyntax.isValid(Data(custom.utf8)) { throw ValidationError("--custom must be JSON") }
        let changes = clear || maxCount != nil || maxAge != nil || truncateBefore != nil || custom != nil
        let metadata = try await global.storeURL().withStore(.existing) { store in
            var metadata = clear ? StreamMetadata() : try await store.streamInfo(stream).metadata
            if let maxCount { metadata.maxCount = maxCount }
            if let maxAge { metadata.maxAge = maxAge }
            if let truncateBefore { metadata.truncateBefore = truncateBefore }
            if let custom { metadata.custom = Data(custom.utf8) }
            if changes { try await store.setStreamMetadata(stream, metadata) }
            return metadata
        }
        var out = JSONWriter()
        StreamMetadataJSON.write(metadata, into: &out)
        StandardOutput.stdout.writeLine(out.bytes)
        StandardOutput.stdout.flush()
    }
}
