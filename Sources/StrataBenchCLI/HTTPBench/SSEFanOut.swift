import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Strata
import StrataJSON

/// Server-Sent Events fan-out: `subscribers` connections follow `/subscribe/$all` from the end
/// of a fresh store; once every one has caught up, one writer appends `events` single-event
/// requests, paced at `rate` per second. A delivery's latency runs from just before the writer
/// sends the append to the moment a subscriber has read the event's `id:` line, so it includes
/// the append itself. The first `warmup` events are not counted.
struct SSEFanOut {
    let subscribers: Int
    let events: Int
    let rate: Double
    var warmup: Int { min(50, events / 10) }

    struct Outcome {
        /// Every counted delivery's latency in nanoseconds, ascending.
        let latencies: [UInt64]
        /// Deliveries per second while the writer ran (events × subscribers / duration).
        let deliveriesPerSecond: Double
    }

    private typealias Arrival = (position: UInt64, at: UInt64)

    private struct Timeout: Error, CustomStringConvertible {
        let description: String
    }

    func run(client: HTTPClient, baseURL: String) async throws -> Outcome {
        guard let url = URL(string: baseURL), let host = url.host, let port = url.port else {
            throw StrataError.invalidArgument("bad server URL \(baseURL)")
        }
        let (ready, readySignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .unbounded)
        let (done, doneSignal) = AsyncStream<Result<[Arrival], any Error>>.makeStream(bufferingPolicy: .unbounded)
        // The subscribers' own event loop: one thread, apart from the server's.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let budget = 120 + Double(events) / rate + 60
        let deadline = ContinuousClock.now + .seconds(budget)
        for _ in 0..<subscribers {
            let follower = SSEFollower(expected: events, ready: readySignal, done: doneSignal)
            try await SSEFollower.connect(group: group, host: host, port: port, path: "/subscribe/$all?from=end", handler: follower)
        }
        // Bounds the whole run: a subscriber that misses an event fails it instead of hanging.
        let watchdog = Task {
            try await Task.sleep(until: deadline)
            readySignal.finish()
            doneSignal.yield(.failure(Timeout(description: "the SSE fan-out did not complete within \(Int(budget)) s")))
        }
        defer { watchdog.cancel() }
        var caughtUp = 0
        for await _ in ready {
            caughtUp += 1
            if caughtUp == subscribers { break }
        }
        if caughtUp < subscribers {
            for await result in done { if case .failure(let error) = result { throw error } }
            throw Timeout(description: "only \(caughtUp) of \(subscribers) subscribers caught up")
        }
        let (sent, writerSeconds) = try await write(client: client, baseURL: baseURL)
        var latencies: [UInt64] = []
        latencies.reserveCapacity(subscribers * events)
        var finished = 0
        for await result in done {
            let arrivals = try result.get()
            finished += 1
            for arrival in arrivals where arrival.position > UInt64(warmup) && arrival.position < UInt64(sent.count) {
                let sentAt = sent[Int(arrival.position)]
                latencies.append(arrival.at > sentAt ? arrival.at - sentAt : 0)
            }
            if finished == subscribers { break }
        }
        return Outcome(latencies: latencies.sorted(), deliveriesPerSecond: Double(events * subscribers) / writerSeconds)
    }

    /// Appends the events one request at a time at the set pace; returns the send time of each
    /// position (index = position) and the writer's duration in seconds.
    private func write(client: HTTPClient, baseURL: String) async throws -> ([UInt64], Double) {
        var sent = [UInt64](repeating: 0, count: events + 1)
        let body = ByteBuffer(string: #"{"events":[{"type":"fan-out","data":\#(HTTPAppendLoad.payload)}]}"#)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<events {
            let due = start + UInt64(Double(i) / rate * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { try await Task.sleep(nanoseconds: due - now) }
            var request = HTTPClientRequest(url: baseURL + "/streams/fan-out")
            request.method = .POST
            request.body = .bytes(body)
            let sentAt = DispatchTime.now().uptimeNanoseconds
            let response = try await client.execute(request, timeout: .seconds(30))
            let answer = try await response.body.collect(upTo: 1 << 16)
            guard response.status == .ok, let result = try? StrataJSONDecoder().decode(Position.self, from: Data(answer.readableBytesView)),
                  result.lastPosition >= 1, result.lastPosition <= UInt64(events) else {
                throw StrataError.invalidArgument("fan-out append answered \(response.status.code): \(String(buffer: answer))")
            }
            sent[Int(result.lastPosition)] = sentAt
        }
        return (sent, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    private struct Position: Decodable {
        let lastPosition: UInt64
    }
}
