import Foundation
import Strata
import StrataConsumers
@testable import StrataLakehouse
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Lakehouse S3 target")
struct S3TargetTests {
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
        guard let moto = ChildProcess.which("moto_server") else {
            Issue.record("moto_server is missing: pip install 'moto[server]' (scripts/test.sh does), or set STRATA_SKIP_MOTO=1")
            return
        }
        let folder = try TempFolder("s3")
        defer { folder.remove() }
        let port = try Self.freePort()
        let server = try ServerProcess(moto, ["-H", "127.0.0.1", "-p", String(port)])
        do {
            try await upload(port: port, folder: folder, server: server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func upload(port: Int, folder: TempFolder, server: ServerProcess) async throws {
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
        var positions: [UInt64] = []
        for key in keys {
            let bytes = try #require(try await bucket.getObject(key: key))
            let local = folder.path + "/" + (key as NSString).lastPathComponent
            _ = FileManager.default.createFile(atPath: local, contents: Data(bytes))
            var reader = try ExportFileReader(path: local)
            defer { reader.close() }
            while let line = try reader.next() {
                positions.append((try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])["position"] as! UInt64)
            }
        }
        #expect(positions == Array(1...2500))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path + "/staging").isEmpty)

        try await Sample.fill(store, count: 10)
        let again = try await LakehouseExporter(store: store, target: target, checkpoints: checkpoints, configuration: configuration).exportAvailable()
        #expect(again.events == 10)
        keys = try await bucket.listKeys(prefix: "tenant-1/")
        #expect(keys.count == 4)
        #expect(keys.last == "tenant-1/events/2026/01/15/14/node-1_2501.jsonl.gz")
        #expect(try await bucket.getObject(key: "tenant-1/missing") == nil)
    }

    /// A server child process, killed (SIGKILL: moto's server ignores SIGTERM) and reaped without blocking a thread.
    final class ServerProcess: @unchecked Sendable {
        // @unchecked: `exited` is guarded by `lock`; `process` is only read after start.
        private let process = Process()
        private let lock = NSLock()
        private var exited = false
        private var waiter: CheckedContinuation<Void, Never>?

        init(_ executable: String, _ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.terminationHandler = { [self] _ in
                let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                    exited = true
                    defer { waiter = nil }
                    return waiter
                }
                waiting?.resume()
            }
            try process.run()
        }

        var isRunning: Bool { lock.withLock { !exited } }

        func stop() async {
            kill(process.processIdentifier, SIGKILL)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = lock.withLock { () -> Bool in
                    if exited { return true }
                    waiter = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StrataError.io(path: "socket", operation: "socket", reason: "failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw StrataError.io(path: "socket", operation: "bind", reason: "failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
