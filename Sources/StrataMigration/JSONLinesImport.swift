import Foundation
import Strata
import StrataJSON
import StrataLakehouse

/// A line of a seed package's file that was not imported.
public struct SeedImportProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file's path.
    public let file: String
    /// The 1-based line number.
    public let line: Int
    /// What is wrong with it.
    public let reason: String

    /// Creates a problem.
    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(file):\(line): \(reason)" }
}

/// What an import of a seed package's files did.
public struct SeedImportSummary: Sendable, Hashable {
    /// Files read.
    public var files = 0
    /// Events read (lines that are events).
    public var events = 0
    /// Events stored now (the others were stored by an earlier import).
    public var imported = 0
    /// Lines skipped, with the reason.
    public var problems: [SeedImportProblem] = []

    /// An empty summary.
    public init() {}
}

/// Where one event came from, for the importer that maps it.
struct LineOrigin {
    /// The file's path and name.
    let path: String
    let fileName: String
    /// Its index in the import's file list (0-based).
    let fileIndex: Int
    /// The 1-based line number in the file.
    let line: Int
    /// The event's 0-based ordinal in its file, and in the whole import.
    let ordinalInFile: Int
    let ordinal: Int
}

/// The one reading loop of the JSON Lines importers (eventlog's daily files, simple-event-sourcing's
/// chunks): files in the given order, line by line (plain or gzip, memory bounded), every line
/// that is a JSON object an event, others reported with file and line and skipped, appended to
/// one stream in atomic batches. Appends are idempotent by event id, so an importer that derives
/// ids from the source's positions can be run again, or resume after a cut-short run.
struct JSONLinesImport {
    let stream: String
    let batchSize: Int

    func run(files: [String], into store: any EventStore,
             event makeEvent: (JSONValue, Data, LineOrigin) -> EventData,
             onProgress: ((SeedImportSummary, String) -> Void)?) async throws -> SeedImportSummary {
        var summary = SeedImportSummary()
        var ordinal = 0
        var batch: [EventData] = []
        for (fileIndex, path) in files.enumerated() {
            summary.files += 1
            var reader = try LineFileReader(path: path)
            defer { reader.close() }
            let fileName = (path as NSString).lastPathComponent
            var ordinalInFile = 0
            while let line = try reader.next() {
                var bytes = Data(line)
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let object: JSONValue
                do { object = try JSONValue(parsing: bytes) } catch {
                    summary.problems.append(SeedImportProblem(file: path, line: reader.lineNumber, reason: "not JSON: \(error)"))
                    continue
                }
                guard case .object = object else {
                    summary.problems.append(SeedImportProblem(file: path, line: reader.lineNumber, reason: "not a JSON object"))
                    continue
                }
                batch.append(makeEvent(object, bytes, LineOrigin(path: path, fileName: fileName, fileIndex: fileIndex, line: reader.lineNumber,
                                                                  ordinalInFile: ordinalInFile, ordinal: ordinal)))
                ordinalInFile += 1
                ordinal += 1
                if batch.count == batchSize {
                    summary.imported += try await append(batch, to: store)
                    summary.events += batch.count
                    batch.removeAll(keepingCapacity: true)
                    onProgress?(summary, path)
                }
            }
            // A batch never spans files, so progress is reported per file.
            if !batch.isEmpty {
                summary.imported += try await append(batch, to: store)
                summary.events += batch.count
                batch.removeAll(keepingCapacity: true)
            }
            onProgress?(summary, path)
        }
        return summary
    }

    private func append(_ events: [EventData], to store: any EventStore) async throws -> Int {
        try await Self.append(events, to: stream, in: store)
    }

    /// Appends one batch of an import; returns how many of its events were stored now. The
    /// batch is one atomic append, which the store answers idempotently when an earlier run
    /// stored the same batch. When an earlier run stored only some of its events in other
    /// batches (it was cut short, or the source has grown since, or the batch size changed), the
    /// store refuses the mix (`eventIdReused`): the batch is then appended event by event, and
    /// an event whose id is already stored is skipped.
    static func append(_ events: [EventData], to stream: String, in store: any EventStore) async throws -> Int {
        let before = try await store.headPosition()
        do {
            _ = try await store.append([AppendRequest(stream: stream, events: events)], condition: nil)
            return try await store.headPosition() > before ? events.count : 0
        } catch StrataError.eventIdReused {
            var stored = 0
            for event in events {
                do {
                    // Idempotent when an earlier run stored this event alone: not stored now.
                    let head = try await store.headPosition()
                    let result = try await store.append([AppendRequest(stream: stream, events: [event])], condition: nil)
                    if result.first.map({ $0.lastPosition > head }) == true { stored += 1 }
                } catch StrataError.eventIdReused {
                    continue
                }
            }
            return stored
        }
    }

    /// The metadata `{"<key>":{<fields>}}` an importer records each event's origin in.
    static func originMetadata(_ key: String, _ fields: (inout JSONWriter) -> Void) -> Data {
        var metadata = JSONWriter()
        metadata.beginObject()
        metadata.key(key)
        metadata.beginObject()
        fields(&metadata)
        metadata.endObject()
        metadata.endObject()
        return Data(metadata.bytes)
    }

    /// Every importer's batch size rule: at least one event per append.
    /// - Throws: `StrataError.invalidArgument` below 1.
    static func checkBatchSize(_ batchSize: Int) throws {
        guard batchSize >= 1 else { throw StrataError.invalidArgument("the batch size must be at least 1, not \(batchSize)") }
    }

    /// The object's `type` member when it is a valid event type, else `fallback`.
    static func type(of object: JSONValue, fallback: String) -> String {
        if let t = object["type"]?.stringValue, (try? Naming.validateEventType(t)) != nil { return t }
        return fallback
    }
}
