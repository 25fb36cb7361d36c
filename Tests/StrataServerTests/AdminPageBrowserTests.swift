import AsyncHTTPClient
import Foundation
import HummingbirdWSClient
import NIOCore
import NIOHTTP1
import Strata
import StrataConsumers
import StrataServer
import Synchronization
import StrataTestSupport
import Testing

/// The admin page in a real browser: headless Chromium (Debian's `chromium`; scripts/test.sh
/// installs it when missing) opens `/` against a test server and is driven over the DevTools
/// protocol through every panel. A full-page screenshot of each step is kept as a test artifact
/// (``TestArtifacts``, folder `admin-page`). Skipped when no Chromium is installed.
@Suite("Admin page in headless Chromium", .serialized)
struct AdminPageBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The screenshots of one run, one per step, in order.
    static let screenshots = ["1-loaded", "2-stream-events", "3-live-tail", "4-documents", "5-stats-and-consumers", "6-subscriptions"]

    /// The lines of a list of events as the page shows them: each item's first line (`#position
    /// stream@revision type`) and its data, newest first.
    static func eventLines(_ list: String) -> String {
        "Array.from(document.querySelectorAll('\(list) li')).map(li => li.children[0].textContent + ' ' + li.children[1].textContent).join('\\n')"
    }

    /// The text of each item of `selector`, one a line.
    static func lines(_ selector: String) -> String {
        "Array.from(document.querySelectorAll('\(selector)')).map(e => e.textContent).join('\\n')"
    }

    /// The rows of a table, one a line, their cells separated by a space.
    static func rows(_ selector: String) -> String {
        "Array.from(document.querySelectorAll('\(selector)')).map(tr => Array.from(tr.children).map(td => td.textContent).join(' ')).join('\\n')"
    }

    @Test("every panel shows what the server holds: stats, consumer lag, streams, a stream's events, the live tail and documents; a screenshot of each step is kept",
          .enabled(if: chromium != nil, "chromium is not installed"), .timeLimit(.minutes(3)))
    func everyPanel() async throws {
        // Two consumers' checkpoints where the server reads them (/consumers): their lag is the
        // head minus the checkpoint.
        let checkpointDirectory = try TemporaryDirectory("admin-checkpoints")
        defer { checkpointDirectory.remove() }
        let checkpoints = try FileCheckpointStore(directory: checkpointDirectory.path)
        try await checkpoints.resetCheckpoint(for: "projector", to: 2)
        try await checkpoints.resetCheckpoint(for: "mailer", to: 5)
        // Persistent subscription groups in memory, beside the store.
        let memory = InMemoryEventStore()
        var configuration = ServerConfiguration(port: 0, checkpointDirectory: checkpointDirectory.path)
        configuration.persistentSubscriptions = PersistentSubscriptions(store: memory, checkpoints: MemoryCheckpointStore(), instance: "http://admin-test.invalid")
        let server = try await TestServer(store: memory, configuration: configuration)
        defer { Task { await server.stop() } }
        let store = server.store
        // Stored before the page opens: positions 1 … 5.
        try await store.append(to: "order-1", events: ["placed", "paid", "shipped"].enumerated().map { step, type in
            EventData(type: type, json: #"{"step":\#(step + 1)}"#)
        })
        try await store.append(to: "order-2", event: EventData(type: "placed", json: #"{"step":1}"#))
        try await store.append(to: "customer-1", event: EventData(type: "registered", json: #"{"name":"Ada"}"#))

        let artifacts = try TestArtifacts.fresh("admin-page")
        let browser = try await Chromium.launch(try #require(Self.chromium), url: server.baseURL + "/", logDirectory: artifacts)
        let base = server.baseURL
        let shown = Mutex<(json: String, meta: String)>(("", ""))

        // The browser is stopped (and its log written) before the test ends, whatever happens.
        do {
            let page = try await browser.pageWebSocketURL(startingWith: server.baseURL)
            try await Wait.within(.seconds(150), "the page to show every panel as expected") {
                try await WebSocketClient.connect(url: page, configuration: .init(maxFrameSize: 1 << 24), logger: TestServer.quietLogger) { inbound, outbound, _ in
                    let devTools = DevToolsSession(inbound: inbound.messages(maxSize: 1 << 26).makeAsyncIterator(), outbound: outbound)

                    // 1. Loaded: the stats, the consumers' lag at head 5, every stream, $all newest first.
                    try await devTools.waitFor("document.getElementById('stat-head').textContent", equals: "5")
                    try await devTools.waitFor("document.getElementById('stat-streams').textContent", equals: "3")
                    try await devTools.waitFor(Self.rows("#consumers tbody tr"), equals: "mailer 5 0\nprojector 2 3")
                    try await devTools.waitFor("String(document.getElementById('consumers-empty').hidden)", equals: "true")
                    try await devTools.waitFor(Self.lines("#streams li"), equals: "customer-1\norder-1\norder-2")
                    try await devTools.waitFor("document.getElementById('events-title').textContent", equals: "$all")
                    try await devTools.waitFor(Self.eventLines("#events"), equals: """
                        #5 customer-1@1 registered {"name":"Ada"}
                        #4 order-2@1 placed {"step":1}
                        #3 order-1@3 shipped {"step":3}
                        #2 order-1@2 paid {"step":2}
                        #1 order-1@1 placed {"step":1}
                        """)
                    // The tail subscribes from the end: live, and none of the stored events in it.
                    try await devTools.waitFor("document.getElementById('tail-status').textContent", equals: "live")
                    try await devTools.waitFor("String(document.querySelectorAll('#tail li').length)", equals: "0")
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("1-loaded.png"))

                    // 2. A typed prefix narrows the streams; a clicked stream shows its events, newest first.
                    try await devTools.type("order", into: "stream-prefix")
                    try await devTools.waitFor(Self.lines("#streams li"), equals: "order-1\norder-2")
                    try await devTools.click("Array.from(document.querySelectorAll('#streams li')).find(li => li.textContent === 'order-1')")
                    try await devTools.waitFor("document.getElementById('events-title').textContent", equals: "order-1")
                    try await devTools.waitFor(Self.eventLines("#events"), equals: """
                        #3 order-1@3 shipped {"step":3}
                        #2 order-1@2 paid {"step":2}
                        #1 order-1@1 placed {"step":1}
                        """)
                    try await devTools.waitFor(Self.lines("#streams li.selected"), equals: "order-1")
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("2-stream-events.png"))

                    // 3. Events appended while the page is open reach the live tail, newest first.
                    try await store.append(to: "order-2", event: EventData(type: "paid", json: #"{"step":2}"#))
                    try await store.append(to: "order-3", event: EventData(type: "placed", json: #"{"step":1}"#))
                    try await store.append(to: "order-1", event: EventData(type: "refunded", json: #"{"step":4}"#))
                    try await devTools.waitFor(Self.eventLines("#tail"), equals: """
                        #8 order-1@4 refunded {"step":4}
                        #7 order-3@1 placed {"step":1}
                        #6 order-2@2 paid {"step":2}
                        """)
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("3-live-tail.png"))

                    // 4. Documents put over HTTP (positions 9 … 11): the typed collection lists its keys,
                    // a clicked key shows the document and its meta.
                    for (method, key, body) in [(HTTPMethod.PUT, "a-1", #"{"item":"book","total":5}"#),
                                                (.PUT, "b-2", #"{"item":"lamp","total":7}"#),
                                                (.PATCH, "a-1", #"{"total":6}"#)] {
                        let answer = try await HTTPTestClient.send(method, "\(base)/documents/orders/\(key)", body: body)
                        try #require(answer.status == 200, "\(method) \(key): \(answer.text)")
                    }
                    let stored = try await HTTPTestClient.send(.GET, "\(base)/documents/orders/a-1").json
                    let meta = try #require(stored["meta"] as? [String: Any])
                    try await devTools.type("orders", into: "documents-collection")
                    try await devTools.click("document.querySelector('#documents-form button')")
                    try await devTools.waitFor("document.getElementById('documents-title').textContent", equals: "orders")
                    try await devTools.waitFor(Self.lines("#document-keys li"), equals: "a-1\nb-2")
                    try await devTools.waitFor("document.getElementById('documents-status').textContent", equals: "2 keys")
                    try await devTools.click("Array.from(document.querySelectorAll('#document-keys li')).find(li => li.textContent === 'a-1')")
                    try await devTools.waitFor("String(document.getElementById('document-view').hidden)", equals: "false")
                    try await devTools.waitFor("document.getElementById('document-key').textContent", equals: "a-1")
                    let expectedMeta = "\(meta["changes"] ?? "?")\n\(meta["dateCreated"] ?? "?")\n\(meta["dateModified"] ?? "?")"
                    let shownMeta = try await devTools.waitFor(Self.lines("#document-meta dd"), equals: expectedMeta)
                    let json = try await devTools.evaluate("document.getElementById('document-json').textContent")
                    shown.withLock { $0 = (json, shownMeta) }
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("4-documents.png"))

                    // 5. The stats and the consumers' lag follow the store: head 11 over six streams.
                    let head = try await store.headPosition()
                    try await devTools.waitFor("document.getElementById('stat-head').textContent", equals: "\(head)")
                    try await devTools.waitFor("document.getElementById('stat-streams').textContent", equals: "6")
                    try await devTools.waitFor("document.getElementById('stat-subscribers').textContent", equals: "1")
                    try await devTools.waitFor(Self.rows("#consumers tbody tr"), equals: "mailer 5 \(head - 5)\nprojector 2 \(head - 2)")
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("5-stats-and-consumers.png"))

                    // 6. A persistent subscription group on order-1 with one event parked: its row, then
                    // "replay parked" queues it for a retry.
                    try await devTools.waitFor("String(document.getElementById('subscriptions-empty').hidden)", equals: "false")
                    let group = "\(base)/subscriptions/order-1/billing"
                    try #require(try await HTTPTestClient.send(.PUT, group, body: "{}").status == 201)
                    let read = try await HTTPTestClient.send(.POST, group + "/read?consumer=w&count=1", body: "")
                    let message = try #require((read.json["messages"] as? [[String: Any]])?.first?["event"] as? [String: Any], "\(read.text)")
                    let nack = #"{"consumer":"w","ids":["\#(message["id"] ?? "")"],"action":"park","reason":"test"}"#
                    try #require(try await HTTPTestClient.send(.POST, group + "/nack", body: nack).status == 204)
                    let firstCells = "Array.from(document.querySelectorAll('#subscriptions tbody tr')).map(tr => Array.from(tr.children).slice(0, 10).map(td => td.textContent).join(' ')).join('\\n')"
                    try await devTools.waitFor(firstCells, equals: "order-1::billing live 0 4 0 0 1 0 1 w (0)")
                    try await devTools.waitFor("String(document.getElementById('subscriptions-empty').hidden)", equals: "true")
                    try await devTools.click("document.querySelector('#subscriptions button.replay')")
                    try await devTools.waitFor("document.getElementById('subscriptions-status').textContent", equals: "order-1::billing: 1 replayed")
                    try await devTools.waitFor(firstCells, equals: "order-1::billing live 0 4 0 1 1 0 1 w (0)")
                    try await devTools.screenshot(to: artifacts.appendingPathComponent("6-subscriptions.png"))
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
        } catch {
            await browser.stop()
            throw error
        }
        await browser.stop()
        #expect(try await store.headPosition() == 11)
        // The document as stored (with its key as `id`), pretty-printed by the page; its meta: two
        // changes (put, patch).
        let (json, meta) = shown.withLock { $0 }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary)
        #expect(document == ["id": "a-1", "item": "book", "total": 6] as NSDictionary)
        #expect(json.contains("\n  \"item\": \"book\""))
        #expect(meta.hasPrefix("2\n"))
        // One screenshot per step: a PNG of the whole page (width and height from its header).
        for name in Self.screenshots {
            let png = try Data(contentsOf: artifacts.appendingPathComponent("\(name).png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "\(name).png is not a PNG")
            #expect(png.count > 10_000 && png.count < 20 << 20, "\(name).png has \(png.count) bytes")
            let size = png.count >= 24 ? (png[16..<20].reduce(0) { $0 << 8 | Int($1) }, png[20..<24].reduce(0) { $0 << 8 | Int($1) }) : (0, 0)
            #expect(size.0 >= 800 && size.1 >= 600, "\(name).png is \(size.0)×\(size.1)")
        }
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

    /// Waits (at most `timeout`) until `expression` evaluates to `expected`; the error of a
    /// timeout shows the last value.
    @discardableResult
    func waitFor(_ expression: String, equals expected: String, timeout: Duration = .seconds(20)) async throws -> String {
        try await waitFor(expression, timeout: timeout) { $0 == expected }
    }

    /// Types `text` into the input with id `id` as a user would (focus, then the text as one
    /// insertion, which fires the input's `input` event).
    func type(_ text: String, into id: String) async throws {
        _ = try await evaluate("document.getElementById('\(id)').focus()")
        let params = try JSONSerialization.data(withJSONObject: ["text": text])
        _ = try await call("Input.insertText", String(decoding: params, as: UTF8.self))
    }

    /// Clicks the element `element` (a JavaScript expression) evaluates to; fails when there is none.
    func click(_ element: String) async throws {
        let clicked = try await evaluate("(() => { const e = \(element); if (!e) return 'missing'; e.click(); return 'clicked'; })()")
        guard clicked == "clicked" else { throw StrataError.invalidArgument("nothing to click: \(element)") }
    }

    /// Writes a PNG of the whole page, beyond the window too, to `file`.
    func screenshot(to file: URL) async throws {
        let width = try await evaluate("String(document.documentElement.scrollWidth)")
        let height = try await evaluate("String(document.documentElement.scrollHeight)")
        let clip = #"{"format":"png","captureBeyondViewport":true,"clip":{"x":0,"y":0,"width":\#(width),"height":\#(height),"scale":1}}"#
        let png = try await call("Page.captureScreenshot", clip)
        guard let data = ((png["result"] as? [String: Any])?["data"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw StrataError.io(path: file.path, operation: "screenshot", reason: "Page.captureScreenshot gave no image")
        }
        try data.write(to: file)
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
