import Foundation
import Strata
import StrataJSON

/// Imports `@dotdo/events` lakehouse files (docs/MIGRATING.md, "dotdo"): the R2 layout its seed
/// document gives, `events/{year}/{month}/{day}/{hour}/{do_id}_{timestamp}.jsonl`, copied to a
/// local folder (for example with `rclone copy r2:my-events ./my-events`), each line a
/// `DurableEvent`: `{type, ts, do: {id, name?, class?, colo?, worker?}, …}`.
///
/// - **Files.** Under `ROOT/events/`, the `.jsonl` files (and `.jsonl.gz`, for a copy compressed
///   on the way) whose path matches the layout, in time order: by hour folder, then the name's
///   `{timestamp}` (milliseconds), then `{do_id}`; lines in file order. Other files are ignored.
/// - **What one event becomes:** type from the event's `type` when it is a valid event type,
///   else `dotdo.event`; the line's bytes as data; a version-5 UUID of `{path under ROOT}:{n}`
///   (the n-th event of the file, from 0) as id, since dotdo's files never change once written;
///   metadata `{"ts":…,"source":{"id","name"?,"class"?,"region"?,"worker"?},"dotdo":{"file","line"}}`:
///   the event's own time as `ts` (what the lakehouse partitions by) and its Durable Object as
///   the emitter's `source` identity (`colo` becomes `region`), as Strata's emitter records them.
/// - **Where.** One stream, ``Options/stream`` (default `dotdo`).
public struct DotdoLakehouseImport: Sendable {
    /// The namespace of the ids this importer derives.
    public static let namespace = UUID(uuidString: "3f8a1c6e-2b4d-4e9f-a7c0-5d1e8b2f6a94")!

    /// What to import and where.
    public struct Options: Sendable {
        /// The stream the events go to.
        public var stream: String
        /// Events per atomic append.
        public var batchSize: Int

        /// Creates options.
        public init(stream: String = "dotdo", batchSize: Int = 1000) {
            self.stream = stream
            self.batchSize = batchSize
        }
    }

    /// One file of the layout.
    struct LakeFile {
        let path: String
        let relative: String
        let hour: String
        let timestamp: UInt64
        let object: String
    }

    /// What this importer reads and where it writes, as checked by `init`.
    public let options: Options

    /// Checks the options.
    /// - Throws: `StrataError.invalidArgument` for a batch size below 1, `invalidStreamName` for a bad stream.
    public init(options: Options = Options()) throws {
        try JSONLinesImport.checkBatchSize(options.batchSize)
        try Naming.validateStreamName(options.stream)
        self.options = options
    }

    /// The layout's files under `root`, in import order (paths).
    /// - Throws: `StrataError.io` when `root/events` cannot be read.
    public func files(in root: String) throws -> [String] { try lakeFiles(in: root).map(\.path) }

    func lakeFiles(in root: String) throws -> [LakeFile] {
        let events = (root as NSString).appendingPathComponent("events")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: events, isDirectory: &isDirectory), isDirectory.boolValue,
              let walker = FileManager.default.enumerator(atPath: events) else {
            throw StrataError.io(path: events, operation: "list", reason: "no events/ folder: ROOT must hold the bucket's events/ prefix")
        }
        var found: [LakeFile] = []
        while let relative = walker.nextObject() as? String {
            let parts = relative.split(separator: "/").map(String.init)
            guard parts.count == 5,
                  parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, parts[3].count == 2,
                  parts[0...3].allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { continue }
            var name = parts[4]
            if name.hasSuffix(".jsonl.gz") { name.removeLast(9) } else if name.hasSuffix(".jsonl") { name.removeLast(6) } else { continue }
            guard let underscore = name.lastIndex(of: "_"), let timestamp = UInt64(name[name.index(after: underscore)...]) else { continue }
            found.append(LakeFile(path: (events as NSString).appendingPathComponent(relative), relative: "events/" + relative,
                                  hour: parts[0...3].joined(separator: "/"), timestamp: timestamp, object: String(name[..<underscore])))
        }
        return found.sorted { a, b in
            if a.hour != b.hour { return a.hour < b.hour }
            if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
            if a.object != b.object { return a.object.utf8.lexicographicallyPrecedes(b.object.utf8) }
            return a.relative.utf8.lexicographicallyPrecedes(b.relative.utf8)
        }
    }

    /// Imports every file of the layout under `root` into `store`, in order, in atomic batches.
    /// - Parameter onProgress: called after each batch and file with the summary so far and the file's path.
    public func run(root: String, into store: any EventStore,
                    onProgress: (@Sendable (SeedImportSummary, String) -> Void)? = nil) async throws -> SeedImportSummary {
        let files = try lakeFiles(in: root)
        let relative = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.relative) })
        return try await JSONLinesImport(stream: options.stream, batchSize: options.batchSize).run(files: files.map(\.path), into: store, event: { object, data, origin in
            let file = relative[origin.path]!
            return EventData(id: NameBasedUUID.make(namespace: Self.namespace, name: "\(file):\(origin.ordinalInFile)"),
                             type: JSONLinesImport.type(of: object, fallback: "dotdo.event"), data: data,
                             metadata: Self.metadata(object, file: file, line: origin.line))
        }, onProgress: onProgress)
    }

    private static func metadata(_ object: JSONValue, file: String, line: Int) -> Data {
        var m = JSONWriter()
        m.beginObject()
        if let ts = object["ts"]?.stringValue { m.field("ts", ts) }
        if let durable = object["do"], let id = durable["id"]?.stringValue {
            m.key("source")
            m.beginObject()
            m.field("id", id)
            for (from, to) in [("name", "name"), ("class", "class"), ("colo", "region"), ("worker", "worker")] {
                if let value = durable[from]?.stringValue { m.field(to, value) }
            }
            m.endObject()
        }
        m.key("dotdo")
        m.beginObject()
        m.field("file", file)
        m.key("line"); m.number(line)
        m.endObject()
        m.endObject()
        return Data(m.bytes)
    }
}
