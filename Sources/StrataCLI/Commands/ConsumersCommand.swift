import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataJSONShapes
import StrataConsumers
import StrataJSON

/// `strata consumers`: the checkpointed consumers of a checkpoint folder, their lag and their
/// parked events.
struct ConsumersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumers",
        abstract: "Show consumers' checkpoints, lag and parked events; reset or skip.",
        subcommands: [List.self, Parked.self, Reset.self, Skip.self],
        defaultSubcommand: List.self
    )

    struct Location: ParsableArguments {
        @Option(help: ArgumentHelp("The folder of a FileCheckpointStore.", valueName: "DIR"))
        var checkpoints: String = "strata-checkpoints"

        func open() throws -> FileCheckpointStore {
            guard FileManager.default.fileExists(atPath: checkpoints) else {
                throw StrataError.invalidArgument("no checkpoint folder at \(checkpoints)")
            }
            return try FileCheckpointStore(directory: checkpoints)
        }
    }

    /// `strata consumers list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "One line per consumer: checkpoint, head, lag, parked events, last parked error.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var location: Location
        @Flag(help: "Print one JSON object per consumer.") var json = false

        func run() async throws {
            let checkpoints = try location.open()
            let store = try await global.storeURL().open(.readOnly)
            let head: UInt64
            do { head = try await store.headPosition() } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
            var rows: [[String]] = [["consumer", "checkpoint", "head", "lag", "parked", "last error"]]
            for name in try checkpoints.consumers() {
                let status = ConsumerStatus(name: name, checkpoint: try checkpoints.loadCheckpoint(name), head: head)
                var parked = 0
                var lastError: String?
                var newest: Int64 = .min
                var after: UInt64?
                while true {
                    let page = try await checkpoints.parked(consumer: name, after: after, limit: 512)
                    guard let last = page.last else { break }
                    parked += page.count
                    for entry in page where entry.parkedAtMicroseconds > newest {
                        newest = entry.parkedAtMicroseconds
                        lastError = entry.error
                    }
                    after = last.position
                }
                if json {
                    var out = JSONWriter()
                    out.beginObject()
                    out.field("consumer", name)
                    if let checkpoint = status.checkpoint { out.field("checkpoint", checkpoint) }
                    out.field("head", head)
                    out.field("lag", status.lag)
                    out.key("parked")
                    out.number(parked)
                    if let lastError { out.field("lastError", lastError) }
                    out.endObject()
                    StandardOutput.stdout.writeLine(out.bytes)
                } else {
                    rows.append([name, status.checkpoint.map(String.init) ?? "-", String(head), String(status.lag), String(parked),
                                 lastError.map { String($0.prefix(60)) } ?? "-"])
                }
            }
            if !json { TableOutput.print(rows) }
            StandardOutput.stdout.flush()
        }
    }

    /// `strata consumers parked NAME`.
    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "parked", abstract: "List a consumer's parked events (JSON lines).")

        @OptionGroup var location: Location
        @Argument(help: "The consumer.") var consumer: String
        @Option(help: "Start after this position.") var after: UInt64?
        @Option(help: "At most this many.") var limit: Int = 100

        func run() async throws {
            let entries = try await location.open().parked(consumer: consumer, after: after, limit: max(0, limit))
            for entry in entries { StandardOutput.stdout.writeLine(entry.json) }
            StandardOutput.stdout.flush()
        }
    }

    /// `strata consumers reset NAME --to N`.
    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset", abstract: "Set a consumer's checkpoint (0 replays from the start). Stop the consumer first.")

        @OptionGroup var location: Location
        @Argument(help: "The consumer.") var consumer: String
        @Option(help: "The new checkpoint: the last position counted as handled.") var to: UInt64

        func run() async throws {
            try await location.open().resetCheckpoint(for: consumer, to: to == 0 ? nil : to)
        }
    }

    /// `strata consumers skip NAME POSITION`.
    struct Skip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "skip", abstract: "Drop a parked event without handling it.")

        @OptionGroup var location: Location
        @Argument(help: "The consumer.") var consumer: String
        @Argument(help: "The parked event's position.") var position: UInt64

        func run() async throws {
            let checkpoints = try location.open()
            guard position > 0, try await checkpoints.parked(consumer: consumer, after: position - 1, limit: 1).first?.position == position else {
                throw StrataError.invalidArgument("consumer \(consumer) has no parked event at position \(position)")
            }
            try await checkpoints.unpark(consumer: consumer, position: position)
        }
    }
}
