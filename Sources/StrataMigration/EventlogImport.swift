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
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The file's path.
        public let file: String
        /// The 1-based line number.
        public let line: Int
        /// What is wrong with it.
        public let reason: String

        public var description: String { "\(file):\(line): \(reason)" }
    }

    /// What an import did.
    public struct Summary: Sendable, Hashable {
        /// Daily files read.
        public var files = 0
        /// Events read (lines that are events).
        public var events = 0
        /// Events stored now (the others were stored by an earlier import).
        public var imported = 0
        /// Lines skipped, with the reason.
        public var problems: [Problem] = []
    }

    /// One daily file.
    public struct DailyFile: Sendable, Hashable {
        /// Its path.
        public let path: String
        /// Its day, `YYYYMMDD`.
        public let day: String
    }

    public let options: Options
    private let pattern: DailyFilePattern

    /// Checks the options.
    /// - Throws: `StrataError.invalidArgument` for a pattern without `%y`, `%m` and `%d` once
    ///   each, or a directory in it; `StrataError.invalidStreamName` for a bad stream.
    public init(options: Options = Options()) throws {
        pattern = try DailyFilePattern(options.pattern)
        guard options.batchSize >= 1 else { throw StrataError.invalidArgument("the batch size must be at least 1") }
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
        var summary = Summary()
        for file in try files(in: directory) {
            summary.files += 1
            let contents: Data
            do { contents = try Data(contentsOf: URL(fileURLWithPath: file.path)) } catch {
                throw StrataError.io(path: file.path, operation: "read", reason: error.localizedDescription)
            }
            let fileName = (file.path as NSString).lastPathComponent
            var batch: [EventData] = []
            var counter = 0
            var lineNumber = 0
            for line in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                var bytes = Data(line)
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let object: JSONValue
                do { object = try JSONValue(parsing: bytes) } catch {
                    summary.problems.append(Problem(file: file.path, line: lineNumber, reason: "not JSON: \(error)"))
                    continue
                }
                guard case .object = object else {
                    summary.problems.append(Problem(file: file.path, line: lineNumber, reason: "not a JSON object"))
                    continue
                }
                let position = file.day + String(format: "%08d", counter)
                counter += 1
                batch.append(event(object, data: bytes, position: position, file: fileName, line: lineNumber))
                if batch.count == options.batchSize {
                    summary.imported += try await append(batch, to: store)
                    summary.events += batch.count
                    batch.removeAll(keepingCapacity: true)
                    onProgress?(summary, file)
                }
            }
            if !batch.isEmpty {
                summary.imported += try await append(batch, to: store)
                summary.events += batch.count
            }
            onProgress?(summary, file)
        }
        return summary
    }

    private func event(_ object: JSONValue, data: Data, position: String, file: String, line: Int) -> EventData {
        var type = "eventlog.event"
        if let t = object["type"]?.stringValue, (try? Naming.validateEventType(t)) != nil { type = t }
        var metadata = JSONWriter()
        metadata.beginObject()
        metadata.key("eventlog")
        metadata.beginObject()
        metadata.field("pos", position)
        metadata.field("file", file)
        metadata.key("line"); metadata.number(line)
        metadata.endObject()
        metadata.endObject()
        return EventData(id: NameBasedUUID.make(namespace: Self.namespace, name: position), type: type, data: data,
                         metadata: Data(metadata.bytes))
    }

    /// Appends one batch; returns how many of its events were stored now (0 when an earlier
    /// import stored them: the append is idempotent).
    private func append(_ events: [EventData], to store: any EventStore) async throws -> Int {
        let before = try await store.headPosition()
        _ = try await store.append([AppendRequest(stream: options.stream, events: events)], condition: nil)
        let after = try await store.headPosition()
        return after > before ? events.count : 0
    }
}
