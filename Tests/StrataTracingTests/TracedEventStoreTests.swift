import InMemoryTracing
import Strata
import StrataLog
import StrataTestSupport
import StrataTracing
import Testing
import Tracing

@Suite("TracedEventStore: spans around a store's operations")
struct TracedEventStoreTests {
    static func event(_ type: String = "placed") -> EventData { EventData(type: type, json: #"{"n":1}"#) }

    /// A traced in-memory store and its tracer.
    static func traced(readsStartTraces: Bool = true) -> (TracedEventStore, InMemoryTracer) {
        let tracer = InMemoryTracer()
        return (TracedEventStore(InMemoryEventStore(), name: "memory:orders", tracer: tracer, readsStartTraces: readsStartTraces), tracer)
    }

    @Test("each operation is one span with the store, the stream and what was asked and found; under a caller's span, its children")
    func operations() async throws {
        let (store, tracer) = Self.traced()
        try await tracer.withSpan("request") { _ in
            let appended = try await store.append(to: "order-1", expectedRevision: .noStream, events: [Self.event(), Self.event()])
            #expect(appended.lastPosition == 2)
            try await store.append([AppendRequest(stream: "order-2", events: [Self.event()]), AppendRequest(stream: "audit", events: [Self.event("seen")])])
            #expect(try await store.readStream("order-1").collect().count == 2)
            #expect(try await store.readAll(from: .at(2), filter: EventFilter(streamPrefixes: ["order-"])).collect().count == 2)
            #expect(try await store.streamInfo("order-1").exists)
            #expect(try await store.listStreams(prefix: "order-").collect() == ["order-1", "order-2"])
            try await store.setStreamMetadata("order-1", StreamMetadata(maxCount: 10))
            try await store.deleteStream("order-2", expectedRevision: .exact(1), mode: .tombstone)
            // Probes and waits are forwarded without a span.
            #expect(try await store.headPosition() == 4)
            _ = try await store.stats()
        }
        let spans = tracer.finishedSpans
        let request = try #require(spans.last)
        #expect(request.operationName == "request")
        let operations = Array(spans.dropLast())
        #expect(operations.map(\.operationName) == ["strata.append", "strata.append", "strata.read_stream", "strata.read_all", "strata.stream_info",
                                                     "strata.list_streams", "strata.set_stream_metadata", "strata.delete_stream"])
        for span in operations {
            #expect(span.traceID == request.traceID && span.parentSpanID == request.spanID, "\(span.operationName) is not a child of the request")
            #expect(span.attributes.get("strata.store") == .string("memory:orders"))
            #expect(span.status == nil && span.errors.isEmpty)
        }
        let append = operations[0].attributes
        #expect(append.get("strata.stream") == .string("order-1") && append.get("strata.expected_revision") == .string("no-stream"))
        #expect(append.get("strata.event_count") == .int64(2) && append.get("strata.position") == .int64(2) && append.get("strata.revision") == .int64(2))
        let multi = operations[1].attributes
        #expect(multi.get("strata.streams") == .stringArray(["order-2", "audit"]) && multi.get("strata.stream") == nil)
        #expect(multi.get("strata.event_count") == .int64(2) && multi.get("strata.position") == .int64(4))
        let read = operations[2].attributes
        #expect(read.get("strata.stream") == .string("order-1") && read.get("strata.origin") == .string("start"))
        #expect(read.get("strata.direction") == .string("forward") && read.get("strata.event_count") == .int64(2))
        let all = operations[3].attributes
        #expect(all.get("strata.stream") == .string("$all") && all.get("strata.origin") == .string("at") && all.get("strata.position") == .int64(2))
        #expect(all.get("strata.filter.stream_prefixes") == .stringArray(["order-"]) && all.get("strata.event_count") == .int64(2))
        #expect(all.get("strata.scanned_through") == .int64(4))
        let info = operations[4].attributes
        #expect(info.get("strata.stream_exists") == .bool(true) && info.get("strata.revision") == .int64(2))
        let list = operations[5].attributes
        #expect(list.get("strata.prefix") == .string("order-") && list.get("strata.stream_count") == .int64(2))
        #expect(operations[6].attributes.get("strata.stream") == .string("order-1"))
        let delete = operations[7].attributes
        #expect(delete.get("strata.stream") == .string("order-2") && delete.get("strata.expected_revision") == .string("1"))
        #expect(delete.get("strata.delete_mode") == .string("tombstone"))
    }

    @Test("a failed operation records its error on its span and sets the status to error")
    func errors() async throws {
        let (store, tracer) = Self.traced()
        try await store.append(to: "order-1", events: [Self.event()])
        await #expect(throws: StrataError.self) {
            try await store.append(to: "order-1", expectedRevision: .noStream, events: [Self.event()])
        }
        await #expect(throws: StrataError.self) { _ = try await store.readStream("missing").collect() }
        let spans = tracer.finishedSpans
        #expect(spans.map(\.operationName) == ["strata.append", "strata.append", "strata.read_stream"])
        #expect(spans[0].status == nil)
        let failed = spans[1]
        #expect(failed.status?.code == .error)
        #expect(failed.status?.message?.contains("order-1") == true, "\(String(describing: failed.status))")
        #expect(failed.errors.count == 1)
        guard case .wrongExpectedRevision(stream: "order-1", expected: .noStream, actual: 1)? = failed.errors.first?.error as? StrataError else {
            Issue.record("recorded \(String(describing: failed.errors.first?.error))")
            return
        }
        #expect(failed.attributes.get("strata.position") == nil)
        #expect(spans[2].status?.code == .error && spans[2].errors.first?.error as? StrataError == .streamNotFound("missing"))
    }

    @Test("a subscription's catch-up is one span, whatever the number of pages; reading live adds none")
    func subscriptionCatchUp() async throws {
        let (store, tracer) = Self.traced()
        try await store.append(to: "bulk", events: (0..<700).map { _ in Self.event() })
        try await store.append(to: "order-1", events: [Self.event(), Self.event()])
        tracer.clearFinishedSpans()

        try await tracer.withSpan("consumer") { _ in
            var all = store.subscribeToAll().makeAsyncIterator()
            var events = 0
            while let message = try await all.next() {
                if case .caughtUp(let position) = message {
                    #expect(position == 702)
                    break
                }
                events += 1
            }
            #expect(events == 702)
            try await store.append(to: "order-1", events: [Self.event()])
            #expect(try await all.next()?.event?.position == 703)

            var stream = store.subscribe(toStream: "order-1", from: .after(1)).makeAsyncIterator()
            #expect(try await stream.next()?.event?.revision == 2)
            #expect(try await stream.next()?.event?.revision == 3)
            #expect(try await stream.next() == .caughtUp(3))
        }
        let spans = tracer.finishedSpans
        #expect(spans.map(\.operationName) == ["strata.subscribe", "strata.append", "strata.subscribe", "consumer"])
        let consumer = spans[3]
        let all = spans[0]
        #expect(all.parentSpanID == consumer.spanID)
        #expect(all.attributes.get("strata.stream") == .string("$all") && all.attributes.get("strata.origin") == .string("start"))
        #expect(all.attributes.get("strata.event_count") == .int64(702) && all.attributes.get("strata.caught_up") == .bool(true))
        let stream = spans[2]
        #expect(stream.parentSpanID == consumer.spanID)
        #expect(stream.attributes.get("strata.stream") == .string("order-1") && stream.attributes.get("strata.origin") == .string("after"))
        #expect(stream.attributes.get("strata.revision") == .int64(1) && stream.attributes.get("strata.event_count") == .int64(2))
        #expect(stream.attributes.get("strata.store") == .string("memory:orders"))
    }

    @Test("a subscription dropped before catching up still ends its span, saying so")
    func abandonedSubscription() async throws {
        let (store, tracer) = Self.traced()
        try await store.append(to: "bulk", events: (0..<600).map { _ in Self.event() })
        tracer.clearFinishedSpans()
        try await Self.readOne(store.subscribeToAll())
        let spans = tracer.finishedSpans
        #expect(spans.map(\.operationName) == ["strata.subscribe"])
        #expect(spans.first?.attributes.get("strata.caught_up") == .bool(false))
        #expect(spans.first?.attributes.get("strata.event_count") == .int64(Int64(Subscription.pageSize)))
        #expect(tracer.activeSpans.isEmpty)
    }

    /// Reads one message; the subscription and its iterator are gone when it returns.
    static func readOne(_ subscription: Subscription) async throws {
        var iterator = subscription.makeAsyncIterator()
        #expect(try await iterator.next()?.event?.position == 1)
    }

    @Test("a subscription through `any EventStore` reads page by page, a span per page")
    func subscriptionThroughTheProtocol() async throws {
        let (store, tracer) = Self.traced()
        try await store.append(to: "order-1", events: [Self.event()])
        tracer.clearFinishedSpans()
        let existential: any EventStore = store
        var iterator = existential.subscribeToAll().makeAsyncIterator()
        #expect(try await iterator.next()?.event?.position == 1)
        #expect(try await iterator.next() == .caughtUp(1))
        #expect(tracer.finishedSpans.map(\.operationName) == ["strata.read_all"])
    }

    @Test("with readsStartTraces off, reads outside a trace start none; writes, and reads inside a trace, are traced")
    func backgroundReads() async throws {
        let (store, tracer) = Self.traced(readsStartTraces: false)
        try await store.append(to: "order-1", events: [Self.event()])
        _ = try await store.readAll().collect()
        _ = try await store.streamInfo("order-1")
        var subscription = store.subscribeToAll().makeAsyncIterator()
        #expect(try await subscription.next()?.event?.position == 1)
        #expect(tracer.finishedSpans.map(\.operationName) == ["strata.append"])
        try await tracer.withSpan("request") { _ in
            _ = try await store.readStream("order-1").collect()
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["strata.append", "strata.read_stream", "request"])
    }

    @Test("a scavenge and an erasure are spans with what they removed; over a store that cannot, unsupported is recorded on the span")
    func maintenance() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = try LogEventStore(directory: directory.path)
        let tracer = InMemoryTracer()
        let store = TracedEventStore(log, name: "file:test", tracer: tracer)
        try await store.append(to: "gone", events: [Self.event(), Self.event()])
        try await store.append(to: "person-1", events: [Self.event()])
        try await store.deleteStream("gone", expectedRevision: .any, mode: .tombstone)
        #expect(try await store.scavenge().eventsRemoved == 2)
        #expect(try await store.erase("person-1", reason: "test").eventsErased == 1)
        let spans = tracer.finishedSpans.filter { $0.operationName == "strata.scavenge" || $0.operationName == "strata.erase" }
        #expect(spans.map(\.operationName) == ["strata.scavenge", "strata.erase"])
        #expect(spans.first?.attributes.get("strata.events_removed") == .int64(2))
        #expect(spans.last?.attributes.get("strata.stream") == .string("person-1") && spans.last?.attributes.get("strata.event_count") == .int64(1))
        try await log.close()

        let (memory, memoryTracer) = Self.traced()
        await #expect(throws: StrataError.self) { _ = try await memory.scavenge() }
        #expect(memoryTracer.finishedSpans.last?.status?.code == .error)
    }
}
