import InMemoryTracing
import Strata
import StrataDocuments
import StrataTracing
import Testing
import Tracing

@Suite("Document queries' spans")
struct DocumentSpanTests {
    @Test("query and count are spans with the collection and the number of results; the view's reads never join the opener's trace")
    func querySpans() async throws {
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            let store = TracedEventStore(InMemoryEventStore(), name: "memory:")
            let users = try await tracer.withSpan("open") { _ in
                try await DocumentStore.open(store: store, collection: "users")
            }
            defer { Task { try? await users.close() } }
            try await users.putMany([(key: "ada", data: ["age": 36]), (key: "bob", data: ["age": 17]), (key: "cy", data: ["age": 50])])
            // The view's consumer started inside "open" but outside its trace: its reads (the
            // catch-up, then after each write) are traces of their own, not the opener's.
            let opened = tracer.finishedSpans
            let open = try #require(opened.first { $0.operationName == "open" })
            #expect(opened.filter { $0.traceID == open.traceID }.map(\.operationName) == ["open"])
            #expect(opened.contains { $0.operationName == "strata.read_all" && $0.parentSpanID == nil })
            tracer.clearFinishedSpans()

            let (adults, all) = try tracer.withSpan("request") { _ in
                (try users.query(["age": ["$gte": 18]]), try users.count())
            }
            #expect(adults.map(\.key) == ["ada", "cy"] && all == 3)
            let spans = tracer.finishedSpans.filter { $0.operationName.hasPrefix("strata.documents.") || $0.operationName == "request" }
            #expect(spans.map(\.operationName) == ["strata.documents.query", "strata.documents.count", "request"])
            let request = try #require(spans.last)
            for span in spans.dropLast() {
                #expect(span.parentSpanID == request.spanID && span.attributes.get("strata.collection") == .string("users"))
            }
            #expect(spans.first?.attributes.get("strata.result_count") == .int64(2))
            #expect(spans.dropLast().last?.attributes.get("strata.result_count") == .int64(3))
        }
    }
}
