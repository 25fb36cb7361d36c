import Foundation
import Strata
import StrataJSONShapes
import StrataJSON

/// Reads export files (`.jsonl`, `.jsonl.gz`) back into a store, idempotently: an event whose id
/// is already stored is not stored again, so importing the same files twice, or files that
/// overlap, stores each event once.
///
/// ```swift
/// let importer = LakehouseImporter(store: store)
/// let summary = try await importer.importFiles(try LakehouseImporter.files(in: ["/data/lake"]))
/// ```
///
/// Events keep their id, stream, type, data, content type and metadata; the store gives them new
/// positions and recorded times. Files are read in `(source, firstPosition)` order and lines in
/// file order, so every stream keeps its order.
public struct LakehouseImporter: Sendable {
    /// The store written.
    public let store: any EventStore
    /// The most events appended at once.
    public let batchSize: Int

    /// Creates an importer.
    public init(store: any EventStore, batchSize: Int = 1000) {
        self.store = store
        self.batchSize = max(1, batchSize)
    }

    /// The export files named by `paths` (files, or folders searched recursively, skipping
    /// `_staging`), in import order.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for a path that does not exist.
    public static func files(in paths: [String]) throws -> [String] {
        var found: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw StrataError.invalidArgument("no file or folder at \(path)")
            }
            if !isDirectory.boolValue {
                found.append(path)
                continue
            }
            let base = path.hasSuffix("/") ? String(path.dropLast()) : path
            let enumerator = FileManager.default.enumerator(atPath: base)
            while let relative = enumerator?.nextObject() as? String {
                if relative == "_staging" || relative.hasPrefix("_staging/") {
                    enumerator?.skipDescendants()
                    continue
                }
                if relative.hasSuffix(".jsonl") || relative.hasSuffix(".jsonl.gz") { found.append(base + "/" + relative) }
            }
        }
        return found.sorted { a, b in
            let pa = ExportFileName.parse(fileName: (a as NSString).lastPathComponent)
            let pb = ExportFileName.parse(fileName: (b as NSString).lastPathComponent)
            switch (pa, pb) {
            case let (x?, y?):
                if x.source != y.source { return x.source < y.source }
                if x.firstPosition != y.firstPosition { return x.firstPosition < y.firstPosition }
                return a < b
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }

    /// Imports the files in the order given.
    /// - Parameter onProgress: Called after each batch.
    /// - Throws: ``StrataError/invalidArgument(_:)`` for a line that is not an exported event
    ///   (file and line named; earlier batches stay stored), ``StrataError/unsupportedFormat(path:found:supported:)``
    ///   for a line of a newer format version, ``StrataError/corruption(path:offset:reason:)`` for
    ///   a damaged gzip file, or the store's error.
    @discardableResult
    public func importFiles(_ files: [String], onProgress: (@Sendable (ImportProgress) -> Void)? = nil) async throws -> ImportSummary {
        var summary = ImportSummary()
        for path in files {
            var reader = try LineFileReader(path: path)
            defer { reader.close() }
            var batch: [(stream: String, event: EventData)] = []
            while let line = try reader.next() {
                batch.append(try Self.decode(line, path: path, lineNumber: reader.lineNumber))
                if batch.count == batchSize {
                    try await append(batch, into: &summary)
                    batch.removeAll(keepingCapacity: true)
                    onProgress?(ImportProgress(file: path, read: summary.read, imported: summary.imported))
                }
            }
            try await append(batch, into: &summary)
            summary.files += 1
            onProgress?(ImportProgress(file: path, read: summary.read, imported: summary.imported))
        }
        return summary
    }

    /// Appends a batch: one atomic append, grouped by stream in order of first appearance. When
    /// some of its ids are stored already (another grouping, a partial earlier import), each
    /// event is appended alone: a stored one is then an idempotent repeat.
    private func append(_ batch: [(stream: String, event: EventData)], into summary: inout ImportSummary) async throws {
        guard !batch.isEmpty else { return }
        summary.read += batch.count
        var order: [String] = []
        var byStream: [String: [EventData]] = [:]
        for (stream, event) in batch {
            if byStream[stream] == nil { order.append(stream) }
            byStream[stream, default: []].append(event)
        }
        let head = try await store.headPosition()
        do {
            let results = try await store.append(order.map { AppendRequest(stream: $0, expectedRevision: .any, events: byStream[$0]!) },
                                                 condition: nil)
            summary.imported += results.filter { $0.firstPosition > head }.reduce(0) { $0 + Int($1.lastPosition - $1.firstPosition + 1) }
        } catch StrataError.eventIdReused {
            for (stream, event) in batch {
                let before = try await store.headPosition()
                let result = try await store.append(to: stream, expectedRevision: .any, events: [event])
                if result.firstPosition > before { summary.imported += 1 }
            }
        }
    }

    /// One line of the lakehouse format as a stream and an event.
    static func decode(_ line: ArraySlice<UInt8>, path: String, lineNumber: Int) throws -> (stream: String, event: EventData) {
        func bad(_ reason: String) -> StrataError { .invalidArgument("\(path) line \(lineNumber): \(reason)") }
        let fields: JSONObjectFields
        do { fields = try JSONObjectFields(Array(line)) } catch { throw bad(error.description) }
        do {
            if let version = fields.scalar("v"), version != String(EventLineEncoder.formatVersion) {
                throw StrataError.unsupportedFormat(path: path, found: "lakehouse line v\(version)",
                                                    supported: "lakehouse line v\(EventLineEncoder.formatVersion)")
            }
            guard let idText = try fields.string("id"), let id = UUID(uuidString: idText) else { throw bad("\"id\" is missing or not a UUID") }
            guard let stream = try fields.string("stream") else { throw bad("\"stream\" is missing") }
            guard let type = try fields.string("type") else { throw bad("\"type\" is missing") }
            guard let rawData = fields.raw("data") else { throw bad("\"data\" is missing") }
            let contentType = try fields.string("contentType").map { ContentType($0) } ?? ContentType.json
            let data: Data
            if try fields.string("dataEncoding") == "base64" {
                guard let text = try fields.string("data"), let decoded = Data(base64Encoded: text) else {
                    throw bad("\"data\" is not a base64 string")
                }
                data = decoded
            } else {
                data = Data(rawData)
            }
            var metadata: Data?
            if let rawMetadata = fields.raw("metadata"), !(rawMetadata.count == 4 && rawMetadata.elementsEqual("null".utf8)) {
                guard rawMetadata.first == UInt8(ascii: "{") else { throw bad("\"metadata\" is not an object") }
                metadata = Data(rawMetadata)
            }
            return (stream, EventData(id: id, type: type, data: data, contentType: contentType, metadata: metadata))
        } catch let problem as InputProblem {
            throw bad(problem.description)
        }
    }
}

/// How far an import has come.
public struct ImportProgress: Sendable, Hashable {
    /// The file being read.
    public var file: String
    /// Lines read so far.
    public var read: Int
    /// Events stored so far (the rest were stored already).
    public var imported: Int
}

/// What an import did.
public struct ImportSummary: Sendable, Hashable {
    /// Files read.
    public var files = 0
    /// Events read.
    public var read = 0
    /// Events stored; `read - imported` were stored already.
    public var imported = 0
}
