import Foundation
import InMemoryTracing
import Strata
@testable import StrataServer
import StrataTestSupport
import StrataTracing
import Testing
import Tracing

@Suite("Server tracing: the configuration file's tracing object, request spans")
struct TracingServerTests {
    @Test("the file's tracing object sets the OTLP export; a malformed one is refused naming the field")
    func configuration() throws {
        let path = try ConfigurationFileTests.write("""
            {"version": 1, "tracing": {"otlpEndpoint": "http://otel-collector:4318", "serviceName": "strata-orders", "sampleRatio": 0.25,
                                       "batchSize": 100, "exportIntervalSeconds": 2, "maxQueueSize": 1000, "timeoutSeconds": 3,
                                       "headers": {"Authorization": "Bearer collector-token"}}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = ServerConfiguration()
        _ = try configuration.apply(file: path)
        #expect(configuration.tracing == TracingConfiguration(endpoint: "http://otel-collector:4318", serviceName: "strata-orders", sampleRatio: 0.25,
                                                              batchSize: 100, exportInterval: .seconds(2), maxQueueSize: 1000,
                                                              headers: ["Authorization": "Bearer collector-token"], timeout: .seconds(3)))
        #expect(configuration.tracing?.tracesURL == "http://otel-collector:4318/v1/traces")

        let minimal = try ConfigurationFileTests.write(#"{"version": 1, "tracing": {"otlpEndpoint": "https://collector.example/otlp/"}}"#)
        defer { try? FileManager.default.removeItem(atPath: minimal) }
        var defaults = ServerConfiguration()
        _ = try defaults.apply(file: minimal)
        #expect(defaults.tracing == TracingConfiguration(endpoint: "https://collector.example/otlp/"))
        #expect(defaults.tracing?.tracesURL == "https://collector.example/otlp/v1/traces")
        #expect(ServerConfiguration().tracing == nil)

        let bad: [(json: String, names: String)] = [
            (#"{"tracing": {}}"#, "otlpEndpoint"),
            (#"{"tracing": "on"}"#, "tracing"),
            (#"{"tracing": {"otlpEndpoint": "collector:4318"}}"#, "tracing.otlpEndpoint"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "sampleRatio": 1.5}}"#, "tracing.sampleRatio"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "sampleRatio": "all"}}"#, "tracing.sampleRatio"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "serviceName": ""}}"#, "tracing.serviceName"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "batchSize": 0}}"#, "tracing.batchSize"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "batchSize": 10, "maxQueueSize": 5}}"#, "tracing.maxQueueSize"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "exportIntervalSeconds": 0}}"#, "tracing.exportIntervalSeconds"),
            (#"{"tracing": {"otlpEndpoint": "http://c:4318", "headers": {"Authorization": 5}}}"#, "tracing.headers"),
        ]
        for (json, names) in bad {
            let badPath = try ConfigurationFileTests.write(#"{"version": 1, "# + String(json.dropFirst()))
            defer { try? FileManager.default.removeItem(atPath: badPath) }
            var other = ServerConfiguration()
            let error = #expect(throws: StrataError.self, "\(json)") { _ = try other.apply(file: badPath) }
            #expect(error.map { "\($0)".contains(names) } == true, "\(json): \(String(describing: error))")
        }
    }

    @Test("with tracing on, every request is a server span and the store's spans are its children")
    func requestSpans() async throws {
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            var configuration = ServerConfiguration(port: 0)
            configuration.tracing = TracingConfiguration(endpoint: "http://127.0.0.1:9")
            let server = try await TestServer(store: TracedEventStore(InMemoryEventStore(), name: "memory:", readsStartTraces: false),
                                              configuration: configuration)
            defer { Task { await server.stop() } }
            let appended = try await HTTPTestClient.send(.POST, server.baseURL + "/streams/orders-1",
                                                         body: #"{"events":[{"type":"placed","data":{"n":1}}]}"#)
            #expect(appended.status == 200 || appended.status == 201, "\(appended.text)")
            #expect(try await HTTPTestClient.send(.GET, server.baseURL + "/streams/orders-1?limit=5&api_key=secret-in-query-0123").status == 200)

            try await Wait.until("the requests' spans end") {
                tracer.finishedSpans.filter { $0.kind == .server }.count >= 2
            }
            let spans = tracer.finishedSpans
            let requests = spans.filter { $0.kind == .server }
            #expect(requests.allSatisfy { $0.attributes.get("http.route") != nil }, "\(requests.map(\.attributes))")
            for (operation, method) in [("strata.append", "POST"), ("strata.read_stream", "GET")] {
                let request = try #require(requests.first { $0.attributes.get("http.request.method") == .string(method) }, "no \(method) span")
                let span = try #require(spans.first { $0.operationName == operation }, "no \(operation) span")
                #expect(span.traceID == request.traceID && span.parentSpanID == request.spanID, "\(operation) is not a child of \(request.operationName)")
                #expect(span.attributes.get("strata.stream") == .string("orders-1"))
            }
            // A key in the query string is not exported.
            let get = try #require(requests.first { $0.attributes.get("http.request.method") == .string("GET") })
            #expect(get.attributes.get("url.query") == .string("limit=5&api_key=REDACTED"), "\(String(describing: get.attributes.get("url.query")))")
            // The live tail reads after every append, outside any request: no trace of its own.
            #expect(!spans.contains { $0.operationName == "strata.read_all" })
        }
    }
}
