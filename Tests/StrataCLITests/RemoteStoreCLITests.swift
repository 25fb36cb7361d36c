import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StrataTestSupport
import Testing

/// `--store http(s)://` and `--store nats://` (the shared store registry, StrataStores) for the
/// ordinary commands.
@Suite("CLI on remote stores", .serialized)
struct RemoteStoreCLITests {
    static let natsServer: String? = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// append, read, streams and stats against `store`.
    static func roundTrip(_ store: String, in dir: TemporaryDirectory) async throws {
        let appended = try await CLIProcess.run(["append", "remote-1", "--store", store, "--type", "placed", "--data", #"{"n":1}"#], in: dir.url)
        #expect(appended.status == 0, "\(appended)")
        #expect((try jsonObject(try #require(appended.lines.first))["lastPosition"] as? NSNumber)?.intValue == 1)
        let read = try await CLIProcess.run(["read", "remote-1", "--store", store], in: dir.url)
        #expect(read.status == 0 && read.lines.count == 1, "\(read)")
        #expect(try jsonObject(try #require(read.lines.first))["type"] as? String == "placed")
        let streams = try await CLIProcess.run(["streams", "--store", store], in: dir.url)
        #expect(streams.status == 0 && streams.lines == ["remote-1"], "\(streams)")
    }

    @Test("--store http://HOST:PORT appends and reads through a running strata serve")
    func http() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let strata = try #require(CLIProcess.executable)
        let server = try ChildProcess.start(strata, ["serve", "--store", "memory:", "--port", "0"], directory: dir.path)
        let url = String(try await server.firstLine(startingWith: "listening ").dropFirst("listening ".count))
        try await Self.roundTrip(url, in: dir)
        let refused = try await CLIProcess.run(["read", "remote-1", "--store", url + "/some/path"], in: dir.url)
        #expect(refused.status != 0 && refused.stderr.contains("http(s)://HOST:PORT"), "\(refused)")
        try await server.stop(grace: .seconds(20))
    }

    @Test("--store nats://HOST:PORT/STORE appends and reads a JetStream store",
          .enabled(if: natsServer != nil, "nats-server is not installed"))
    func nats() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let port = try LoopbackPort.free()
        let server = try ChildProcess.start(try #require(Self.natsServer), ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir.appending("js")],
                                            directory: dir.path)
        // nats-server's default max_payload is 1 MiB: the URL lowers the event limit to fit.
        let store = "nats://127.0.0.1:\(port)/cli?maxEventSize=900000"
        try await Wait.until("the JetStream store to open", timeout: .seconds(30), interval: .milliseconds(100)) {
            try await CLIProcess.run(["stats", "--store", store], in: dir.url, timeout: 20).status == 0
        }
        try await Self.roundTrip(store, in: dir)
        try await server.stop(grace: .seconds(20))
    }

    @Test("strata serve refuses a --store that does not exist (a typo must not serve a new empty store) unless --create is given")
    func serveNeedsAnExistingStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.url.appendingPathComponent("typo").path
        let refused = try await CLIProcess.run(["serve", "--store", "file:" + missing, "--port", "0"], in: dir.url, timeout: 30)
        #expect(refused.status == 1 && refused.stderr.contains("no store at") && refused.stderr.contains("--create"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: missing))
        let strata = try #require(CLIProcess.executable)
        let server = try ChildProcess.start(strata, ["serve", "--store", "file:" + missing, "--port", "0", "--create"], directory: dir.path)
        _ = try await server.firstLine(startingWith: "listening ")
        #expect(FileManager.default.fileExists(atPath: missing))
        try await server.stop(grace: .seconds(20))
    }

    @Test("strata serve's /metrics carries the log engine's metrics beside the server's")
    func engineMetricsOnServer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let strata = try #require(CLIProcess.executable)
        let server = try ChildProcess.start(strata, ["serve", "--store", "file:" + dir.appending("data"), "--port", "0", "--create"],
                                            directory: dir.path)
        let url = String(try await server.firstLine(startingWith: "listening ").dropFirst("listening ".count))
        for n in 1...3 {
            #expect(try await CLIProcess.run(["append", "m", "--store", url, "--type", "t", "--data", #"{"n":\#(n)}"#], in: dir.url).status == 0)
        }
        let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url + "/metrics")))
        let text = String(decoding: data, as: UTF8.self)
        let appended = text.split(separator: "\n").first { $0.hasPrefix("strata_log_events_appended_total{") }
        #expect(appended?.hasSuffix(" 3") == true, "\(appended.map(String.init) ?? text.prefix(2000).description)")
        #expect(text.contains("strata_log_fsync_seconds") && text.contains("strata_events_appended_total"))
        try await server.stop(grace: .seconds(20))
    }
}
