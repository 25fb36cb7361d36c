import Hummingbird
import ServiceLifecycle
import StrataJSON
import StrataTestSupport
@testable import StrataTracing
import Testing
import Tracing

@Suite("OTLPHTTPTracer: OTLP/HTTP JSON export")
struct OTLPExportTests {
    /// A tracer exporting to `collector`, and a service group running it.
    static func running(_ configuration: TracingConfiguration) throws -> (OTLPHTTPTracer, ServiceGroup, Task<Void, any Error>) {
        let tracer = try OTLPHTTPTracer(configuration: configuration, logger: CollectorStub.quiet)
        let group = ServiceGroup(configuration: .init(services: [tracer], logger: CollectorStub.quiet))
        return (tracer, group, Task { try await group.run() })
    }

    @Test("a full batch is posted at once as an ExportTraceServiceRequest; what is left is posted at shutdown")
    func batchesAndShutdown() async throws {
        let collector = try await CollectorStub()
        defer { Task { await collector.stop() } }
        let configuration = TracingConfiguration(endpoint: collector.endpoint + "/", serviceName: "orders", batchSize: 2,
                                                 exportInterval: .seconds(3600), headers: ["Authorization": "Bearer collector-token"])
        let (tracer, group, running) = try Self.running(configuration)

        let parent = tracer.startSpan("parent", context: .topLevel, ofKind: .server)
        let child = tracer.startSpan("child", context: parent.context, ofKind: .client)
        child.attributes = ["text": "a", "count": 3, "ratio": 0.5, "flag": true, "names": .stringArray(["x", "y"])]
        child.addEvent(SpanEvent(name: "retried", attributes: ["attempt": 2]))
        child.recordError(StrataTestError.failed)
        child.setStatus(SpanStatus(code: .error, message: "it failed"))
        child.end()
        parent.end()

        try await Wait.until("the first batch") { collector.exports.count == 1 }
        let first = try #require(collector.exports.first)
        #expect(first.contentType == "application/json" && first.authorization == "Bearer collector-token")
        let resource = try #require(first.body["resourceSpans"]?.arrayValue?.first)
        #expect(resource["resource"]?.otlpAttributes["service.name"] == .otlp("stringValue", .string("orders")))
        #expect(resource["scopeSpans"]?.arrayValue?.first?["scope"]?["name"] == .string("strata"))
        #expect(first.names == ["child", "parent"])
        let (exportedChild, exportedParent) = (first.spans[0], first.spans[1])

        let traceID = try #require(exportedParent["traceId"]?.stringValue)
        #expect(traceID.count == 32 && traceID.allSatisfy(\.isHexDigit) && traceID == traceID.lowercased())
        #expect(exportedChild["traceId"]?.stringValue == traceID)
        let parentID = try #require(exportedParent["spanId"]?.stringValue)
        #expect(parentID.count == 16 && exportedChild["parentSpanId"]?.stringValue == parentID)
        #expect(exportedParent["parentSpanId"] == nil)
        #expect(exportedParent["kind"]?.integerValue == 2 && exportedChild["kind"]?.integerValue == 3)
        let start = try #require(exportedChild["startTimeUnixNano"]?.stringValue.flatMap { UInt64($0) })
        let end = try #require(exportedChild["endTimeUnixNano"]?.stringValue.flatMap { UInt64($0) })
        #expect(start > 1_600_000_000_000_000_000 && end >= start)

        let attributes = exportedChild.otlpAttributes
        #expect(attributes["text"] == .otlp("stringValue", .string("a")))
        #expect(attributes["count"] == .otlp("intValue", .string("3")))
        #expect(attributes["ratio"] == .otlp("doubleValue", .number(0.5)))
        #expect(attributes["flag"] == .otlp("boolValue", .bool(true)))
        #expect(attributes["names"]?["arrayValue"]?["values"]?.arrayValue == [.otlp("stringValue", .string("x")),
                                                                               .otlp("stringValue", .string("y"))])
        let events = try #require(exportedChild["events"]?.arrayValue)
        #expect(events.map { $0["name"]?.stringValue } == ["retried", "exception"])
        #expect(events[0].otlpAttributes["attempt"] == .otlp("intValue", .string("2")))
        #expect(events[1].otlpAttributes["exception.message"] == .otlp("stringValue", .string("failed")))
        #expect(events[1]["timeUnixNano"]?.stringValue.flatMap { UInt64($0) } != nil)
        #expect(exportedChild["status"]?["code"]?.integerValue == 2 && exportedChild["status"]?["message"] == .string("it failed"))
        #expect(exportedParent["status"] == nil)

        // One span does not fill a batch: it waits (the interval is an hour) until shutdown.
        tracer.startSpan("last", context: .topLevel).end()
        await group.triggerGracefulShutdown()
        try await Wait.within(.seconds(20), "the tracer's shutdown") { try await running.value }
        #expect(collector.exports.map(\.names) == [["child", "parent"], ["last"]])
        #expect(tracer.exportedSpans == 3 && tracer.droppedSpans == 0 && tracer.failedSpans == 0)
    }

    @Test("a span waits no longer than the export interval")
    func interval() async throws {
        let collector = try await CollectorStub()
        defer { Task { await collector.stop() } }
        let (tracer, group, running) = try Self.running(TracingConfiguration(endpoint: collector.endpoint, batchSize: 100,
                                                                               exportInterval: .milliseconds(100)))
        tracer.startSpan("alone", context: .topLevel).end()
        try await Wait.until("the span, after the interval") { collector.exports.flatMap(\.names) == ["alone"] }
        tracer.startSpan("later", context: .topLevel).end()
        try await Wait.until("the next span, after the interval") { collector.exports.flatMap(\.names) == ["alone", "later"] }
        await group.triggerGracefulShutdown()
        try await Wait.within(.seconds(20), "the tracer's shutdown") { try await running.value }
    }

    @Test("a full queue drops its oldest spans and counts them; a failed export is counted and dropped")
    func boundedQueue() async throws {
        let collector = try await CollectorStub()
        defer { Task { await collector.stop() } }
        // Not running: spans stay queued until flush.
        let tracer = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: collector.endpoint, batchSize: 2, maxQueueSize: 3),
                                        logger: CollectorStub.quiet)
        for n in 1...5 { tracer.startSpan("s\(n)", context: .topLevel).end() }
        #expect(tracer.droppedSpans == 2)
        await tracer.flush()
        #expect(collector.exports.map(\.names) == [["s3", "s4"], ["s5"]])
        #expect(tracer.exportedSpans == 3)

        let refusing = try await CollectorStub(status: .serviceUnavailable)
        defer { Task { await refusing.stop() } }
        let failing = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: refusing.endpoint, batchSize: 2), logger: CollectorStub.quiet)
        for n in 1...3 { failing.startSpan("f\(n)", context: .topLevel).end() }
        await failing.flush()
        #expect(refusing.exports.count == 2 && failing.failedSpans == 3 && failing.exportedSpans == 0)
    }

    @Test("W3C traceparent: injected from a span, extracted into a context its children continue; malformed headers are ignored")
    func traceparent() throws {
        let tracer = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: "http://127.0.0.1:9"), logger: CollectorStub.quiet)
        var extracted = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vendor=x"],
                       into: &extracted, using: DictionaryCarrier())
        let received = try #require(extracted[TraceContext.Key.self])
        #expect(received.traceID.hex == "0af7651916cd43dd8448eb211c80319c" && received.spanID == 0xb7ad6b7169203331)
        #expect(received.sampled && received.traceState == "vendor=x")

        let span = tracer.startSpan("handler", context: extracted, ofKind: .server)
        let own = try #require(span.context[TraceContext.Key.self])
        #expect(own.traceID == received.traceID && own.spanID != received.spanID && own.sampled)
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryCarrier())
        #expect(headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-\(Hex.string(own.spanID, digits: 16))-01")
        #expect(headers["tracestate"] == "vendor=x")
        span.end()

        for bad in ["", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
                    "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"] {
            var context = InstrumentationContext.topLevel
            tracer.extract(["traceparent": bad], into: &context, using: DictionaryCarrier())
            #expect(context[TraceContext.Key.self] == nil, "accepted \(bad)")
        }
        // A later version may add fields: its first four are read.
        var later = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more"], into: &later, using: DictionaryCarrier())
        #expect(later[TraceContext.Key.self]?.sampled == false)
    }

    @Test("sampling: a new trace with the ratio, a continued one as its parent decided; an unsampled span records nothing")
    func sampling() throws {
        let none = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: "http://127.0.0.1:9", sampleRatio: 0), logger: CollectorStub.quiet)
        let root = none.startSpan("root", context: .topLevel)
        root.attributes["a"] = 1
        #expect(!root.isRecording && root.attributes.isEmpty)
        let child = none.startSpan("child", context: root.context)
        #expect(!child.isRecording && child.context[TraceContext.Key.self]?.traceID == root.context[TraceContext.Key.self]?.traceID)
        var headers: [String: String] = [:]
        none.inject(child.context, into: &headers, using: DictionaryCarrier())
        #expect(headers["traceparent"]?.hasSuffix("-00") == true)
        child.end()
        root.end()

        // A caller that sampled its trace wins over a ratio of 0.
        var context = InstrumentationContext.topLevel
        none.extract(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], into: &context, using: DictionaryCarrier())
        #expect(none.startSpan("continued", context: context).isRecording)

        let half = try OTLPHTTPTracer(configuration: TracingConfiguration(endpoint: "http://127.0.0.1:9", sampleRatio: 0.5, maxQueueSize: 10_000),
                                      logger: CollectorStub.quiet)
        let sampled = (0..<2000).filter { _ in half.startSpan("s", context: .topLevel).isRecording }.count
        #expect((800...1200).contains(sampled), "\(sampled) of 2000 sampled at 0.5")
        let id = TraceID(high: 1, low: 0x0000_1234_5678_9ABC)
        #expect(OTLPHTTPTracer.samples(id, ratio: 0.5) == OTLPHTTPTracer.samples(id, ratio: 0.5))
    }
}

/// A `[String: String]` carrier (header names as given).
struct DictionaryCarrier: Injector, Extractor {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

enum StrataTestError: Error, CustomStringConvertible {
    case failed
    var description: String { "failed" }
}
