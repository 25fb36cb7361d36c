import AsyncHTTPClient
import NIOCore
import StrataJSON
import StrataTestSupport
import Testing

@Suite("strata serve with tracing")
struct ServeTracingTests {
    @Test("the tracing object makes strata serve continue a caller's trace: the request's span, the store's spans as its children, sent when it stops")
    func serve() async throws {
        let strata = try Executable.requireBuilt("strata")
        let collector = try await CollectorStub()
        defer { Task { await collector.stop() } }
        let dir = try TemporaryDirectory("serve-tracing")
        defer { dir.remove() }
        // An hour's interval and a large batch: the spans can only arrive with the flush at shutdown.
        let config = try dir.write("strata.json", """
            {"version": 1, "tracing": {"otlpEndpoint": "\(collector.endpoint)", "serviceName": "strata-test", "exportIntervalSeconds": 3600}}
            """)
        let server = try ChildProcess.start(strata, ["serve", "--store", "memory:", "--port", "0", "--config", config], directory: dir.path)
        let url = String(try await server.firstLine(startingWith: "listening ").dropFirst("listening ".count))

        var request = HTTPClientRequest(url: url + "/streams/orders-1")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        request.body = .bytes(ByteBuffer(string: #"{"events":[{"type":"placed","data":{"n":1}}]}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        #expect((200..<300).contains(response.status.code))
        #expect(collector.exports.isEmpty)

        #expect(try await server.stop(grace: .seconds(20)), "strata serve did not stop on SIGTERM")
        #expect(server.exitedCleanly, "\(server.stderr)")
        let exports = collector.exports
        #expect(exports.count == 1)
        let body = try #require(exports.first?.body)
        let resource = body["resourceSpans"]?.arrayValue?.first?["resource"]
        #expect(resource?.otlpAttributes["service.name"] == .otlp("stringValue", .string("strata-test")))
        let spans = exports.flatMap(\.spans)
        let http = try #require(spans.first { $0["kind"]?.integerValue == 2 }, "no server span in \(exports.flatMap(\.names))")
        #expect(http["traceId"] == .string("4bf92f3577b34da6a3ce929d0e0e4736") && http["parentSpanId"] == .string("00f067aa0ba902b7"))
        let append = try #require(spans.first { $0["name"] == .string("strata.append") }, "no append span in \(exports.flatMap(\.names))")
        #expect(append["traceId"] == http["traceId"] && append["parentSpanId"] == http["spanId"])
        #expect(append.otlpAttributes["strata.store"] == .otlp("stringValue", .string("memory:")))
        #expect(append.otlpAttributes["strata.stream"] == .otlp("stringValue", .string("orders-1")))
        // The live tail's reads after the append are outside any request: no spans of their own.
        #expect(!exports.flatMap(\.names).contains("strata.read_all"))
    }
}
