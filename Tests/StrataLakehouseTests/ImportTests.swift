import Foundation
import Strata
import StrataConsumers
@testable import StrataLakehouse
import StrataTestSupport
import Testing

@Suite("Lakehouse import")
struct ImportTests {
    @Test("importing twice, into the original store, or with overlapping files stores every event once")
    func idempotent() async throws {
        let folder = try TemporaryDirectory("import")
        defer { folder.remove() }
        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 700, streams: 4, batch: 50)
        _ = try await store.append(to: "blobs", events: [EventData(type: "blob", data: Data([0, 255]), contentType: .binary)])
        let root = folder.path + "/lake"
        try await LakehouseExporter(store: store, target: DirectoryTarget(root: root),
                                    checkpoints: FileCheckpointStore(directory: folder.path + "/cp"),
                                    configuration: ExportConfiguration(source: "s", maxFileEvents: 250)).exportAvailable()
        let files = try LakehouseImporter.files(in: [root])
        // The blob has no metadata time: it lies in the hour it was recorded, in a file of its own.
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["s_1.jsonl", "s_251.jsonl", "s_501.jsonl", "s_701.jsonl"])

        let copy = InMemoryEventStore()
        let importer = LakehouseImporter(store: copy, batchSize: 64)
        let first = try await importer.importFiles(files)
        #expect(first == ImportSummary(files: 4, read: 701, imported: 701))
        let second = try await importer.importFiles(files)
        #expect(second.imported == 0)
        // Another batch size groups differently: ids already stored are skipped one by one.
        let third = try await LakehouseImporter(store: copy, batchSize: 100).importFiles(files + [files[1]])
        #expect(third.read == 951 && third.imported == 0)
        #expect(try await copy.headPosition() == 701)
        let intoOriginal = try await LakehouseImporter(store: store).importFiles(files)
        #expect(intoOriginal.imported == 0)
        #expect(try await store.headPosition() == 701)

        let restored = try await copy.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 1000).events
        let original = try await store.readAllPage(from: .start, direction: .forward, filter: EventFilter(), maxCount: 1000).events
        #expect(Set(restored.map(\.id)) == Set(original.map(\.id)))
        for stream in ["order-0", "order-1", "order-2", "order-3", "blobs"] {
            #expect(restored.filter { $0.stream == stream }.map(\.id) == original.filter { $0.stream == stream }.map(\.id))
        }
        let blob = try #require(restored.first { $0.stream == "blobs" })
        #expect(blob.data == Data([0, 255]) && blob.contentType == .binary && blob.metadata == nil)
    }

    @Test("a bad line stops the import with its file and line; a newer format version is refused")
    func badLines() async throws {
        let folder = try TemporaryDirectory("import-bad")
        defer { folder.remove() }
        let file = folder.path + "/x_1.jsonl"
        let good = #"{"v":1,"id":"0b5c8c5e-1111-4c4c-8c8c-000000000001","type":"t","ts":"2026-01-15T14:00:00.000000Z","stream":"s","position":1,"revision":1,"data":{},"metadata":null,"recordedAt":"2026-01-15T14:00:00.000000Z"}"#
        try (good + "\n{\"v\":1,\"id\":\"nope\"}\n").write(toFile: file, atomically: true, encoding: .utf8)
        let store = InMemoryEventStore()
        await #expect(throws: StrataError.invalidArgument("\(file) line 2: \"id\" is missing or not a UUID")) {
            try await LakehouseImporter(store: store).importFiles([file])
        }
        let newer = folder.path + "/x_2.jsonl"
        try (good.replacingOccurrences(of: #"{"v":1"#, with: #"{"v":2"#) + "\n").write(toFile: newer, atomically: true, encoding: .utf8)
        await #expect(throws: StrataError.unsupportedFormat(path: newer, found: "lakehouse line v2", supported: "lakehouse line v1")) {
            try await LakehouseImporter(store: store).importFiles([newer])
        }
        let truncated = folder.path + "/x_3.jsonl.gz"
        _ = FileManager.default.createFile(atPath: truncated, contents: Data([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0x4b]))
        await #expect(throws: StrataError.self) {
            try await LakehouseImporter(store: store).importFiles([truncated])
        }
        #expect(throws: StrataError.invalidArgument("no file or folder at \(folder.path)/missing")) {
            try LakehouseImporter.files(in: [folder.path + "/missing"])
        }
    }
}
