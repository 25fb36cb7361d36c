import Foundation
import Synchronization

/// The figures of docs/SCALING.md: appends per second through `strata serve` instances over one
/// shared store, sent round-robin by concurrent HTTP clients, and the end-to-end latency of a
/// live event from the start of its append to its arrival at an SSE subscriber of every
/// instance (the one it was appended through, and the others). Run on demand by the
/// many-instance suites with `STRATA_SCALE_MEASURE=1`.
public struct ManyInstancesMeasure: Sendable {
    /// Single-event appends of the throughput figure.
    public var singleAppends = 4_000
    /// Appends of 100 events of the batch figure.
    public var batchAppends = 300
    /// Concurrent HTTP clients of both.
    public var connections = 16
    /// Events of the latency figure, appended one after another.
    public var latencyEvents = 300

    /// The default sizes, scaled by `factor` (`STRATA_SCALE_MEASURE=N` passes N).
    public init(factor: Int = 1) {
        singleAppends *= factor
        batchAppends *= factor
        latencyEvents *= factor
    }

    /// What one run measured.
    public struct Figures: Sendable, CustomStringConvertible {
        /// Instances the load went through.
        public var instances = 0
        /// Events per second, one event per request.
        public var singleEventsPerSecond = 0.0
        /// Events per second, 100 events per request.
        public var batchEventsPerSecond = 0.0
        /// Milliseconds from the start of an append to its arrival at a subscriber of the
        /// instance it went through: median, 99th percentile.
        public var sameInstanceLatency: (p50: Double, p99: Double) = (0, 0)
        /// The same at subscribers of the other instances.
        public var otherInstanceLatency: (p50: Double, p99: Double) = (0, 0)

        /// One line with every figure.
        public var description: String {
            let f = { (v: Double) in String(format: "%.1f", v) }
            return "instances=\(instances) append.single=\(Int(singleEventsPerSecond)) events/s append.batch100=\(Int(batchEventsPerSecond)) events/s "
                + "sse.same.p50=\(f(sameInstanceLatency.p50)) ms sse.same.p99=\(f(sameInstanceLatency.p99)) ms "
                + (instances > 1 ? "sse.other.p50=\(f(otherInstanceLatency.p50)) ms sse.other.p99=\(f(otherInstanceLatency.p99)) ms" : "")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Measures through `instances` (each a fresh store is best: the figures include its growth).
    public func run(_ instances: [ServeInstance]) async throws -> Figures {
        var figures = Figures()
        figures.instances = instances.count
        (figures.sameInstanceLatency, figures.otherInstanceLatency) = try await latency(instances)
        figures.singleEventsPerSecond = try await appendRate(instances, requests: singleAppends, batch: 1)
        figures.batchEventsPerSecond = try await appendRate(instances, requests: batchAppends, batch: 100)
        return figures
    }

    /// `requests` appends of `batch` events by `connections` clients, request `i` of client `c`
    /// through instance `(c + i) % instances`, each client to a stream of its own.
    private func appendRate(_ instances: [ServeInstance], requests: Int, batch: Int) async throws -> Double {
        let event = #"{"type":"measure","data":{"orderId":"9f0c2a4e-1b7d-4c3a-9e55-6a1f0d2b7c88","customer":"customer-000042","amount":1234.5,"items":[{"sku":"sku-1","qty":2}]}}"#
        let body = #"{"expectedRevision":"any","events":["# + Array(repeating: event, count: batch).joined(separator: ",") + "]}"
        let perClient = max(1, requests / connections)
        let label = "measure-\(batch)-\(UUID().uuidString.prefix(8))"
        @Sendable func send(_ c: Int, _ i: Int) async throws {
            let instance = instances[(c + i) % instances.count]
            let answer = try await HTTPTestClient.send(.POST, instance.baseURL + "/streams/\(label)-\(c)", body: body, timeout: .seconds(60))
            guard answer.status == 200 else { throw Failure(description: "append through \(instance) answered \(answer.status): \(answer.text)") }
        }
        // Untimed first requests open the connections.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections { group.addTask { for i in 0..<instances.count { try await send(c, i) } } }
            try await group.waitForAll()
        }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections { group.addTask { for i in 0..<perClient { try await send(c, i) } } }
            try await group.waitForAll()
        }
        let seconds = Double((ContinuousClock.now - started) / .microseconds(1)) / 1e6
        return Double(perClient * connections * batch) / seconds
    }

    /// Arrival times of live events at one subscriber, by event id.
    final class Arrivals: Sendable {
        let state = Mutex<(caughtUp: Bool, at: [String: ContinuousClock.Instant])>((false, [:]))
    }

    /// `latencyEvents` single-event appends one after another, event `k` through instance
    /// `k % instances`; one `$all` subscriber per instance, opened from the end.
    private func latency(_ instances: [ServeInstance]) async throws
        -> (same: (p50: Double, p99: Double), other: (p50: Double, p99: Double)) {
        let arrivals = instances.map { _ in Arrivals() }
        let followers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (instance, record) in zip(instances, arrivals) {
                    group.addTask {
                        try await SSETestReader.follow(instance.baseURL + "/subscribe/$all?from=end") { message in
                            let now = ContinuousClock.now
                            if message.event == "caught-up" { record.state.withLock { $0.caughtUp = true } }
                            guard message.event == "message",
                                  let object = (try? JSONSerialization.jsonObject(with: Data(message.data.utf8))) as? [String: Any],
                                  let id = object["id"] as? String else { return true }
                            record.state.withLock { $0.at[id.lowercased()] = now }
                            return true
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        defer { followers.cancel() }
        try await Wait.until("every latency subscriber to catch up", timeout: .seconds(60)) {
            arrivals.allSatisfy { $0.state.withLock { $0.caughtUp } }
        }
        var sent: [(id: String, through: Int, at: ContinuousClock.Instant)] = []
        for k in 0..<latencyEvents {
            let id = UUID().uuidString.lowercased()
            let through = k % instances.count
            let body = #"{"expectedRevision":"any","events":[{"id":"\#(id)","type":"latency","data":{"k":\#(k)}}]}"#
            let at = ContinuousClock.now
            let answer = try await HTTPTestClient.send(.POST, instances[through].baseURL + "/streams/latency-\(k % 4)", body: body)
            guard answer.status == 200 else { throw Failure(description: "latency append answered \(answer.status): \(answer.text)") }
            sent.append((id, through, at))
        }
        try await Wait.until("every subscriber to see every latency event", timeout: .seconds(120)) {
            arrivals.allSatisfy { record in record.state.withLock { s in sent.allSatisfy { s.at[$0.id] != nil } } }
        }
        var same: [Double] = []
        var other: [Double] = []
        for (index, record) in arrivals.enumerated() {
            let at = record.state.withLock { $0.at }
            for event in sent {
                let ms = Double((at[event.id]! - event.at) / .microseconds(1)) / 1000
                if event.through == index { same.append(ms) } else { other.append(ms) }
            }
        }
        func quantiles(_ values: [Double]) -> (p50: Double, p99: Double) {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return (0, 0) }
            return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
        }
        return (quantiles(same), quantiles(other))
    }
}
