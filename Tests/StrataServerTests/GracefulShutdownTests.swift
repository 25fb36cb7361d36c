import Foundation
import Strata
import StrataLog
import Testing

/// `strata serve` as a child process: SIGTERM shuts it down cleanly.
@Suite("strata serve process")
struct GracefulShutdownTests {
    /// The `strata` executable next to the test bundle (or `STRATA_CLI_PATH`).
    static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["STRATA_CLI_PATH"] { return path }
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return candidates.map { $0.appendingPathComponent("strata").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @Test("SIGTERM ends subscriptions, finishes, closes the store and exits 0; the store reopens clean")
    func sigterm() async throws {
        let strata = try #require(Self.executable, "build the strata binary first")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.txt"), err = dir.appendingPathComponent("err.txt")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: strata)
        process.arguments = ["serve", "--store", "file:" + dir.appendingPathComponent("data").path, "--port", "0", "--create"]
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let exited = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        @Sendable func announced() -> String? {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").first { $0.hasPrefix("listening ") }.map { String($0.dropFirst("listening ".count)) }
        }
        try await waitFor("the server to listen", seconds: 30) { announced() != nil }
        let url = try #require(announced())
        let append = try await HTTPTestClient.send(.POST, url + "/streams/kept",
                                                   body: #"{"events":[{"type":"a","data":{"n":1}},{"type":"b","data":{"n":2}}]}"#)
        #expect(append.status == 200, "\(append.text)")
        // An open subscription must not hold the shutdown back.
        let subscription = Task { try await HTTPTestClient.readRaw(url + "/subscribe/$all", until: "never-sent", timeout: .seconds(60)) }
        try await waitFor("the subscription to open") {
            let stats = try? await HTTPTestClient.send(.GET, url + "/stats")
            return stats?.json["subscribers"] as? Int == 1
        }

        kill(process.processIdentifier, SIGTERM)
        var status: Int32 = -1
        for await s in exited.stream { status = s }
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        #expect(status == 0, "exit status; stderr: \(stderr)")
        #expect(stderr.contains("the store is closed"))
        let ended = try await subscription.value
        #expect(ended.contains("caught-up"), "the subscription was served, then ended by the shutdown")

        let store = try LogEventStore(directory: dir.appendingPathComponent("data").path)
        let events = try await store.readStream("kept").collect()
        #expect(events.map(\.type) == ["a", "b"])
        try await store.close()
    }
}

extension EventSequence {
    func collect() async throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        for try await e in self { out.append(e) }
        return out
    }
}
