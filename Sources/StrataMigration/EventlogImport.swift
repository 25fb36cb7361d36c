import Foundation
import Strata
import StrataJSON
import StrataLakehouse

/// Imports the daily log files of `@rymdtiden/eventlog` (docs/MIGRATING.md, "eventlog"): files
/// named by a pattern with `%y`, `%m` and `%d` (for example `events-%y-%m-%d.log`), one JSON
/// event per line, positions `YYYYMMDD` followed by an 8-digit counter of that day's events
/// from `00000000`.
///
/// Every event becomes one Strata event in one stream (``Options/stream``), in eventlog's order:
/// - type: the event object's `type` member when it is a valid event type, else `eventlog.event`;
/// - data: the line's bytes exactly;
/// - id: ``NameBasedUUID`` of the eventlog position in ``namespace``, so a second import stores
///   nothing new (Strata's idempotency by id);
/// - metadata: `{"eventlog":{"pos":"1984013100000000","file":"events-1984-01-31.log","line":1}}`.
///
/// A line that is not a JSON object (a torn write) is not an event: it is reported with its
/// file and line number, skipped, and takes no position.
public struct EventlogImport: Sendable {
    /// The namespace of the ids this importer derives.
    public static let namespace = UUID(uuidString: "6c7a2f3e-9d1b-4b8e-a5f0-2e4c1d7b9a31")!

    /// What to import and where.
    public struct Options: Sendable {
        /// The file name pattern, with `%y` (4 digits), `%m` and `%d` (2 digits each) exactly once.
        public var pattern: String
        /// The stream the events go to.
        public var stream: String
        /// Events per atomic append.
        public var batchSize: Int

        /// Creates options.
        public init(pattern: String = "events-%y-%m-%d.log", stream: String = "eventlog", batchSize: Int = 1000) {
            self.pattern = pattern
            self.stream = stream
            self.batchSize = batchSize
        }
    }

    /// A line that was not imported.
    public typealias Problem = SeedImportProblem

    /// What an import did.
    public typealias Summary = SeedImportSummary

    /// One daily file.
    public struct DailyFile: Sendable, Hashable {
        /// Its path.
        public let path: String
        /// Its day, `YYYYMMDD`.
        public let day: String
    }

    /// What this importer reads and where it writes, as checked by `init`.
    public let options: Options
    private let pattern: DailyFilePattern

    /// Checks the options.
    /// - Throws: `StrataError.invalidArgument` for a pattern without `%y`, `%m` and `%d` once
    ///   each, or a directory in it; `StrataError.invalidStreamName` for a bad stream.
    public init(options: Options = Options()) throws {
        pattern = try DailyFilePattern(options.pattern)
        try JSONLinesImport.checkBatchSize(options.batchSize)
        try Naming.validateStreamName(options.stream)
        self.options = options
    }

    /// The daily files of `directory` that match the pattern, oldest day first.
    public func files(in directory: String) throws -> [DailyFile] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw StrataError.io(path: directory, operation: "list", reason: "cannot read the folder: \(error.localizedDescription)")
        }
        return names.compactMap { name in
            pattern.day(of: name).map { DailyFile(path: (directory as NSString).appendingPathComponent(name), day: $0) }
        }.sorted { $0.day < $1.day }
    }

    /// Imports every daily file of `directory` into `store`, in order, in atomic batches.
    /// - Parameter onProgress: called after each batch with the summary so far and the file.
    public func run(directory: String, into store: any EventStore,
                    onProgress: (@Sendable (Summary, DailyFile) -> Void)? = nil) async throws -> Summary {
        let files = try files(in: directory)
        let days = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0) })
        return try await JSONLinesImport(stream: options.stream, batchSize: options.batchSize).run(files: files.map(\.path), into: store, event: { object, data, origin in
            // The counter of a day counts that day's events from 00000000.
            let position = days[origin.path]!.day + String(format: "%08d", origin.ordinalInFile)
            return EventData(id: NameBasedUUID.make(namespace: Self.namespace, name: position),
                             type: JSONLinesImport.type(of: object, fallback: "eventlog.event"), data: data,
                             metadata: JSONLinesImport.originMetadata("eventlog") { m in
                                 m.field("pos", position)
                                 m.field("file", origin.fileName)
                                 m.key("line"); m.number(origin.line)
                             })
        }, onProgress: onProgress.map { report in { summary, path in report(summary, days[path]!) } })
    }
}
