import Foundation
import Strata
import StrataConsumers
import StrataJSON
@testable import StrataLakehouse
import StrataTestSupport
import Testing

@Suite("Lakehouse S3 target")
struct S3TargetTests {
    /// Every line's `position` in the objects `keys`, downloaded into `folder` and read back.
    static func positions(of keys: [String], in bucket: S3Bucket, downloadingTo folder: String) async throws -> [UInt64] {
        var positions: [UInt64] = []
        for key in keys {
            let bytes = try #require(try await bucket.getObject(key: key))
            let local = folder + "/" + (key as NSString).lastPathComponent
            _ = FileManager.default.createFile(atPath: local, contents: Data(bytes))
            var reader = try LineFileReader(path: local)
            defer { reader.close() }
            while let line = try reader.next() {
                positions.append((try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])["position"] as! UInt64)
            }
        }
        return positions
    }

    @Test("Signature V4 matches AWS's documented GET Object example")
    func awsExample() {
        let signer = AWSSignatureV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let headers = signer.sign(method: "GET", path: "/test.txt", host: "examplebucket.s3.amazonaws.com", headers: [("Range", "bytes=0-9")],
                                  payloadHash: AWSSignatureV4.sha256Hex([UInt8]()), date: Date(timeIntervalSince1970: 1_369_353_600))
        let authorization = headers.first { $0.0 == "Authorization" }?.1
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(AWSSignatureV4.encode("events/a b/ü~.x", keepSlash: true) == "events/a%20b/%C3%BC~.x")
    }

    /// Exports to a bucket of moto's S3 server (installed by scripts/test.sh; STRATA_SKIP_MOTO=1 skips).
    @Test("export uploads every finished file to an S3 bucket (moto), whole, and a restart adds only new files",
          .disabled(if: ProcessInfo.processInfo.environment["STRATA_SKIP_MOTO"] == "1"))
    func motoUpload() async throws {
        guard let moto = Executable.onPath("moto_server") else {
            Issue.record("moto_server is missing: pip install 'moto[server]' (scripts/test.sh does), or set STRATA_SKIP_MOTO=1")
            return
        }
        let folder = try TemporaryDirectory("s3")
        defer { folder.remove() }
        let port = try LoopbackPort.free()
        // moto's server ignores SIGTERM: kill() ends it (and so would the handle's end, should this test fail).
        let server = try ChildProcess.start(moto, ["-H", "127.0.0.1", "-p", String(port)])
        do {
            try await upload(port: port, folder: folder, server: server)
        } catch {
            try await server.kill()
            throw error
        }
        try await server.kill()
    }

    private func upload(port: Int, folder: TemporaryDirectory, server: ChildProcess) async throws {
        let bucket = try S3Bucket(endpoint: "http://127.0.0.1:\(port)", bucket: "events-lake",
                                  signer: AWSSignatureV4(accessKey: "test", secretKey: "test", region: "us-east-1"), timeout: .seconds(10))
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await bucket.createBucket()
                break
            } catch {
                guard ContinuousClock.now < deadline, server.isRunning else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        let store = InMemoryEventStore()
        try await Sample.fill(store, count: 2500)
        let target = S3Target(bucket: bucket, prefix: "/tenant-1/", stagingDirectory: folder.path + "/staging")
        let checkpoints = try FileCheckpointStore(directory: folder.path + "/checkpoints")
        let configuration = ExportConfiguration(source: "node-1", compression: .gzip(), maxFileEvents: 1000)
        let summary = try await LakehouseExporter(store: store, target: target, checkpoints: checkpoints, configuration: configuration).exportAvailable()
        #expect(summary.files == 3)
        var keys = try await bucket.listKeys(prefix: "tenant-1/")
        #expect(keys == ["tenant-1/events/2026/01/15/14/node-1_1.jsonl.gz", "tenant-1/events/2026/01/15/14/node-1_1001.jsonl.gz",
                         "tenant-1/events/2026/01/15/14/node-1_2001.jsonl.gz"])
        // Download and read every object back: all events, each once.
        let positions = try await Self.positions(of: keys, in: bucket, downloadingTo: folder.path)
        #expect(positions == Array(1...2500))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/staging").isEmpty)

        try await Sample.fill(store, count: 10)
        let again = try await LakehouseExporter(store: store, target: target, checkpoints: checkpoints, configuration: configuration).exportAvailable()
        #expect(again.events == 10)
        keys = try await bucket.listKeys(prefix: "tenant-1/")
        #expect(keys.count == 4)
        #expect(keys.last == "tenant-1/events/2026/01/15/14/node-1_2501.jsonl.gz")
        #expect(try await bucket.getObject(key: "tenant-1/missing") == nil)

        // Three interleaved hours, files of 40: files finish while others are open, so the
        // journal object lists those beyond the checkpoint.
        try await Sample.timed(store, hours: (0..<300).map { $0 % 3 })
        var interleaved = configuration
        interleaved.maxFileEvents = 40
        let third = try await LakehouseExporter(store: store, target: target, checkpoints: checkpoints, configuration: interleaved).exportAvailable()
        #expect(third.events == 300)
        #expect(third.checkpoint == 2810)
        let journal = try #require(try await bucket.getObject(key: "tenant-1/_state/node-1.json"))
        let decoded = try StrataJSONDecoder().decode(ExportJournal.self, from: journal)
        #expect(decoded.source == "node-1")
        #expect(!decoded.files.isEmpty)
        #expect(decoded.files.allSatisfy { $0.first > 2510 && $0.last > decoded.checkpoint })
        #expect(try await ExportJournal.load(from: target, source: "node-1", checkpoint: decoded.checkpoint) == decoded.files)
        #expect(try await ExportJournal.load(from: target, source: "node-1", checkpoint: 2810).isEmpty)
        keys = try await bucket.listKeys(prefix: "tenant-1/events/")
        let all = try await Self.positions(of: keys, in: bucket, downloadingTo: folder.path)
        #expect(all.sorted() == Array(1...2810))
    }
}
