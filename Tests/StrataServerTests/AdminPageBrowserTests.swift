import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import NIOCore
import Strata
import StrataServer
import Synchronization
import StrataTestSupport
import Testing

/// The admin page in a real browser: headless Chromium (Debian's `chromium`; scripts/test.sh
/// installs it when missing) opens `/` against a test server and is driven over the DevTools
/// protocol. Skipped when no Chromium is installed.
@Suite("Admin page in headless Chromium", .serialized)
struct AdminPageBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Where the screenshot is kept: `.build/test-artifacts/` of this package.
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts")

    @Test("the live tail shows events appended while the page is open, the streams list shows stored ones, and a screenshot is kept",
          .enabled(if: chromium != nil, "chromium is not installed"), .timeLimit(.minutes(2)))
    func liveTail() async throws {
        let server = try await TestServer()
        defer { Task { await server.stop() } }
        for i in 1...3 { try await server.store.append(to: "before-\(i)", event: EventData(type: "stored-first", json: #"{"n":\#(i)}"#)) }

        let browser = try await Chromium.launch(try #require(Self.chromium), url: server.baseURL + "/", logDirectory: Self.artifacts)
        defer { Task { await browser.stop() } }
        let page = try await browser.pageWebSocketURL(startingWith: server.baseURL)
        let store = server.store
        let screenshot = Self.artifacts.appendingPathComponent("admin.png")
        let seen = Mutex<(tail: String, streams: String)>(("", ""))

        try await Wait.within(.seconds(60), "the page to show the live tail and the streams") {
            try await WebSocketClient.connect(url: page, configuration: .init(maxFrameSize: 1 << 24), logger: TestServer.quietLogger) { inbound, outbound, _ in
                let devTools = DevToolsSession(inbound: inbound.messages(maxSize: 1 << 26).makeAsyncIterator(), outbound: outbound)
                // The tail subscribes from the end: wait until it says it is live before appending.
                _ = try await devTools.waitFor("document.getElementById('tail-status').textContent") { $0 == "live" }
                for i in 1...3 {
                    try await store.append(to: "live-\(i)", event: EventData(type: "browser-check-\(i)", json: #"{"seen":\#(i)}"#))
                }
                let tail = try await devTools.waitFor("Array.from(document.querySelectorAll('#tail li')).map(li => li.textContent).join('\\n')") { text in
                    (1...3).allSatisfy { text.contains("browser-check-\($0)") }
                }
                let streams = try await devTools.waitFor("document.getElementById('streams').textContent") { $0.contains("before-3") }
                seen.withLock { $0 = (tail, streams) }
                let png = try await devTools.call("Page.captureScreenshot", #"{"format":"png"}"#)
                let data = try #require((png["result"] as? [String: Any])?["data"] as? String)
                try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
                try #require(Data(base64Encoded: data)).write(to: screenshot)
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let (tail, streams) = seen.withLock { $0 }
        // Newest first, each with its position, stream, revision and type, and its data.
        let lines = tail.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.hasPrefix("#6 live-3@1 browser-check-3") == true)
        #expect(lines.last?.hasPrefix("#4 live-1@1 browser-check-1") == true)
        #expect(tail.contains(#"{"seen":2}"#))
        // The stored events came before the page opened: not in the tail, but listed as streams.
        #expect(!tail.contains("stored-first"))
        #expect((1...3).allSatisfy { streams.contains("before-\($0)") })
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 1000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}

/// A headless Chromium process with the DevTools protocol on a port it picks.
final class Chromium: Sendable {
    let process: ChildProcess
    let profile: TemporaryDirectory
    let log: URL
    let devToolsPort: Int

    private init(process: ChildProcess, profile: TemporaryDirectory, log: URL, devToolsPort: Int) {
        self.process = process
        self.profile = profile
        self.log = log
        self.devToolsPort = devToolsPort
    }

    /// Starts the browser on `url`; waits (at most 30 s) until it announces its DevTools port.
    /// What it printed is kept in `logDirectory/chromium.log` once it stops.
    static func launch(_ executable: String, url: String, logDirectory: URL) async throws -> Chromium {
        let profile = try TemporaryDirectory("chromium")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let log = logDirectory.appendingPathComponent("chromium.log")
        let process = try ChildProcess.start(executable, [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir=\(profile.path)", "--window-size=1280,900", url,
        ])
        var port: Int?
        do {
            try await Wait.until("chromium to open its DevTools port", timeout: .seconds(30), interval: .milliseconds(50)) {
                let text = try? String(contentsOfFile: profile.appending("DevToolsActivePort"), encoding: .utf8)
                port = text?.split(separator: "\n").first.flatMap { Int($0) }
                if port == nil && !process.isRunning { throw StrataError.io(path: executable, operation: "start", reason: "chromium exited: \(process.stderr)") }
                return port != nil
            }
        } catch {
            await Chromium(process: process, profile: profile, log: log, devToolsPort: 0).stop()
            throw error
        }
        return Chromium(process: process, profile: profile, log: log, devToolsPort: port!)
    }

    /// The DevTools WebSocket URL of the page whose URL starts with `prefix` (waits at most 20 s).
    func pageWebSocketURL(startingWith prefix: String) async throws -> String {
        var found: String?
        try await Wait.until("a page at \(prefix) in chromium", timeout: .seconds(20), interval: .milliseconds(100)) {
            let list = try await HTTPTestClient.send(.GET, "http://127.0.0.1:\(devToolsPort)/json/list")
            let targets = (try? JSONSerialization.jsonObject(with: Data(list.body))) as? [[String: Any]] ?? []
            let page = targets.first { $0["type"] as? String == "page" && ($0["url"] as? String)?.hasPrefix(prefix) == true }
            found = page?["webSocketDebuggerUrl"] as? String
            return found != nil
        }
        return found!
    }

    /// Ends the browser (SIGTERM, which takes its child processes down too; SIGKILL after 10 s),
    /// keeps what it printed in the log, and removes its profile.
    func stop() async {
        _ = try? await process.stop(grace: .seconds(10))
        try? Data((process.stdout + process.stderr).utf8).write(to: log)
        profile.remove()
    }
}

/// Commands over one page's DevTools WebSocket, one at a time.
final class DevToolsSession {
    private var inbound: WebSocketInboundMessageStream.AsyncIterator
    private let outbound: WebSocketOutboundWriter
    private var nextID = 0

    init(inbound: WebSocketInboundMessageStream.AsyncIterator, outbound: WebSocketOutboundWriter) {
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Sends a command and returns its reply (protocol events received meanwhile are skipped).
    func call(_ method: String, _ params: String = "{}") async throws -> [String: Any] {
        nextID += 1
        let id = nextID
        try await outbound.write(.text(#"{"id":\#(id),"method":"\#(method)","params":\#(params)}"#))
        while let message = try await inbound.next() {
            guard case .text(let text) = message,
                  let reply = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  reply["id"] as? Int == id else { continue }
            if let error = reply["error"] { throw StrataError.invalidArgument("DevTools \(method) failed: \(error)") }
            return reply
        }
        throw StrataError.io(path: "chromium", operation: method, reason: "the DevTools connection closed")
    }

    /// Evaluates a JavaScript expression in the page and returns its string value ("" for others).
    func evaluate(_ expression: String) async throws -> String {
        let params = try JSONSerialization.data(withJSONObject: ["expression": expression, "returnByValue": true])
        let reply = try await call("Runtime.evaluate", String(decoding: params, as: UTF8.self))
        let result = (reply["result"] as? [String: Any])?["result"] as? [String: Any]
        return result?["value"] as? String ?? ""
    }

    /// Evaluates `expression` every 100 ms until `done` holds for its value (at most `timeout`).
    func waitFor(_ expression: String, timeout: Duration = .seconds(20), _ done: (String) -> Bool) async throws -> String {
        var value = ""
        do {
            try await Wait.until("the page's \(expression)", timeout: timeout, interval: .milliseconds(100)) {
                value = try await evaluate(expression)
                return done(value)
            }
        } catch is TimedOut {
            throw StrataError.invalidArgument("the page did not reach the expected state within \(timeout); \(expression) = \(value.debugDescription)")
        }
        return value
    }
}
