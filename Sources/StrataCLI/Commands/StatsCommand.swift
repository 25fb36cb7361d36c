import ArgumentParser
import Strata
import StrataCommandLine
import StrataJSONShapes
import StrataJSON

/// `strata stats`: store-wide figures.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print store-wide figures: head position, first position, streams, bytes on disk."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        let url = try global.storeURL()
        let stats = try await url.withStore(.readOnly) { try await $0.stats() }
        let details = stats.details.sorted { $0.key < $1.key }
        if json {
            var out = JSONWriter()
            out.beginObject()
            out.field("store", url.description)
            out.field("headPosition", stats.headPosition)
            out.field("firstPosition", stats.firstPosition)
            out.key("streamCount")
            out.number(stats.streamCount)
            out.key("bytesOnDisk")
            out.number(stats.bytesOnDisk)
            out.key("details")
            out.beginObject()
            for (key, value) in details { out.field(key, value) }
            out.endObject()
            out.endObject()
            StandardOutput.stdout.writeLine(out.bytes)
        } else {
            var rows: [(String, String)] = [
                ("store", url.description),
                ("head position", String(stats.headPosition)),
                ("first position", String(stats.firstPosition)),
                ("streams", String(stats.streamCount)),
                ("bytes on disk", String(stats.bytesOnDisk)),
            ]
            rows += details
            let width = rows.map(\.0.count).max() ?? 0
            for (key, value) in rows {
                StandardOutput.stdout.writeLine(key + String(repeating: " ", count: width - key.count + 2) + value)
            }
        }
        StandardOutput.stdout.flush()
    }
}
