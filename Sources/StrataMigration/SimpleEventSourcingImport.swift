import Foundation
import Strata
import StrataJSON

/// Imports the stored events of `@mountainpass/simple-event-sourcing` (docs/MIGRATING.md,
/// "simple-event-sourcing"). Its seed document describes an event source as chunked sequential
/// files of JSON Lines, optionally gzip-compressed, whose events reach consumers in order with a
/// 0-based index; it names neither the chunk files nor the folder layout. This importer
/// therefore reads exactly that and assumes no more:
///
/// - **Files.** The folder's files named `*.jsonl` or `*.jsonl.gz` (not its sub-folders), in
///   natural name order: runs of digits compare as numbers, so `chunk-2` comes before
///   `chunk-10`. When a chunk exists both plain and compressed (a compression was interrupted),
///   the plain file is read: it is complete by construction; the `.gz` may not be.
/// - **Events.** Every line that is a JSON object, in order; its index counts events across
///   the chunks from 0, as the package's consumers see them.
///
/// Every event becomes one Strata event in one stream (``Options/stream``, default the source's
/// name), in order:
/// - type: the object's `type` member when it is a valid event type, else `simple-event-sourcing.event`;
/// - data: the line's bytes exactly;
/// - id: ``NameBasedUUID`` of `{source}:{index}` in ``namespace``, so a second import stores
///   nothing new, and two sources' events never collide;
/// - metadata: `{"simpleEventSourcing":{"source":…,"index":N,"file":…,"line":L}}`, plus `"ts"`
///   (ISO 8601, UTC) when the object has a numeric `ts` in milliseconds since 1970, as the
///   package's examples write it: the event time the lakehouse partitions by.
///
/// A line that is not a JSON object is reported with its file and line, skipped, and takes no index.
public struct SimpleEventSourcingImport: Sendable {
    /// The namespace of the ids this importer derives.
    public static let namespace = UUID(uuidString: "0b6f6f2a-3c1e-4d5a-9b8c-7e2f1a4d6c93")!

    /// What to import and where.
    public struct Options: Sendable {
        /// The event source's name (`new FileEventSource(name)`); nil: the folder's name.
        public var source: String?
        /// The stream the events go to; nil: the source's name.
        public var stream: String?
        /// Events per atomic append.
        public var batchSize: Int

        /// Creates options.
        public init(source: String? = nil, stream: String? = nil, batchSize: Int = 1000) {
            self.source = source
            self.stream = stream
            self.batchSize = batchSize
        }
    }

    /// What this importer reads and where it writes, as checked by `init`.
    public let options: Options

    /// Checks the options.
    /// - Throws: `StrataError.invalidArgument` for a batch size below 1 or an empty source name,
    ///   `StrataError.invalidStreamName` for a bad stream.
    public init(options: Options = Options()) throws {
        try JSONLinesImport.checkBatchSize(options.batchSize)
        if let source = options.source, source.isEmpty { throw StrataError.invalidArgument("the source name must not be empty") }
        if let stream = options.stream { try Naming.validateStreamName(stream) }
        self.options = options
    }

    /// The chunk files of `directory`, in import order.
    /// - Throws: `StrataError.io` when the folder cannot be read.
    public func files(in directory: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw StrataError.io(path: directory, operation: "list", reason: "cannot read the folder: \(error.localizedDescription)")
        }
        let present = Set(names)
        let chunks = names.filter { name in
            guard !name.hasPrefix("."), name.hasSuffix(".jsonl") || name.hasSuffix(".jsonl.gz") else { return false }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name), isDirectory: &isDirectory),
                  !isDirectory.boolValue else { return false }
            return !(name.hasSuffix(".gz") && present.contains(String(name.dropLast(3))))
        }
        return chunks.sorted(by: Self.naturalOrder).map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Imports every chunk of `directory` into `store`, in order, in atomic batches.
    /// - Parameter onProgress: called after each batch and file with the summary so far and the file's path.
    /// - Throws: the store's errors; `StrataError.io` or `corruption` for an unreadable or truncated file.
    public func run(directory: String, into store: any EventStore,
                    onProgress: (@Sendable (SeedImportSummary, String) -> Void)? = nil) async throws -> SeedImportSummary {
        var folder = directory
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        let source = options.source ?? (folder as NSString).lastPathComponent
        let stream = options.stream ?? source
        try Naming.validateStreamName(stream)
        return try await JSONLinesImport(stream: stream, batchSize: options.batchSize).run(files: try files(in: directory), into: store, event: { object, data, origin in
            let index = origin.ordinal
            return EventData(id: NameBasedUUID.make(namespace: Self.namespace, name: "\(source):\(index)"),
                             type: JSONLinesImport.type(of: object, fallback: "simple-event-sourcing.event"), data: data,
                             metadata: Self.metadata(object, source: source, index: index, origin: origin))
        }, onProgress: onProgress)
    }

    private static func metadata(_ object: JSONValue, source: String, index: Int, origin: LineOrigin) -> Data {
        var metadata = JSONWriter()
        metadata.beginObject()
        metadata.key("simpleEventSourcing")
        metadata.beginObject()
        metadata.field("source", source)
        metadata.key("index"); metadata.number(index)
        metadata.field("file", origin.fileName)
        metadata.key("line"); metadata.number(origin.line)
        metadata.endObject()
        if let ms = object["ts"]?.integerValue, ms >= 0, ms < 253_402_300_800_000 {
            metadata.field("ts", UTCTime.iso8601(Int64(ms) * 1000, fractionDigits: 3))
        }
        metadata.endObject()
        return Data(metadata.bytes)
    }

    /// Names compared with runs of digits as numbers (`chunk-2` < `chunk-10`), then byte order.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        var i = a.utf8.makeIterator(), j = b.utf8.makeIterator()
        var x = i.next(), y = j.next()
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        while let cx = x, let cy = y {
            if isDigit(cx) && isDigit(cy) {
                var dx: [UInt8] = [], dy: [UInt8] = []
                while isDigit(x) { dx.append(x!); x = i.next() }
                while isDigit(y) { dy.append(y!); y = j.next() }
                while dx.count > 1 && dx.first == 0x30 { dx.removeFirst() }
                while dy.count > 1 && dy.first == 0x30 { dy.removeFirst() }
                if dx.count != dy.count { return dx.count < dy.count }
                if dx != dy { return dx.lexicographicallyPrecedes(dy) }
                continue
            }
            if cx != cy { return cx < cy }
            x = i.next(); y = j.next()
        }
        if x == nil && y != nil { return true }
        if x != nil && y == nil { return false }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
