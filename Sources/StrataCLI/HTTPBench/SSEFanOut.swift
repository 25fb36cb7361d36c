import AsyncHTTPClient
import Foundation
import NIOCore
import Strata

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
        let (ready, readySignal) = AsyncStream<Void>.makeStream(bufferingPolicy: .unbounded)
        let events = self.events
        let budget = 120 + Double(events) / rate + 60
        return try await withThrowingTaskGroup(of: [Arrival]?.self) { group in
            for _ in 0..<subscribers {
                group.addTask {
                    do {
                        return try await SSEFanOut.follow(client: client, url: baseURL + "/subscribe/$all?from=end", events: events, ready: readySignal)
                    } catch {
                        readySignal.finish()
                        throw error
                    }
                }
            }
            // Bounds the whole run: a subscriber that misses an event fails it instead of hanging.
            group.addTask {
                try await Task.sleep(for: .seconds(budget))
                readySignal.finish()
                throw Timeout(description: "the SSE fan-out did not complete within \(Int(budget)) s")
            }
            var caughtUp = 0
            for await _ in ready {
                caughtUp += 1
                if caughtUp == subscribers { break }
            }
            if caughtUp < subscribers {
                // A subscriber failed or time ran out: surface that error.
                while try await group.next() != nil {}
                throw Timeout(description: "only \(caughtUp) of \(subscribers) subscribers caught up")
            }
            let (sent, writerSeconds) = try await write(client: client, baseURL: baseURL)
            var latencies: [UInt64] = []
            latencies.reserveCapacity(subscribers * events)
            var finished = 0
            while finished < subscribers, let arrivals = try await group.next() {
                guard let arrivals else { continue }
                finished += 1
                for arrival in arrivals where arrival.position > UInt64(warmup) {
                    let sentAt = sent[Int(arrival.position)]
                    latencies.append(arrival.at > sentAt ? arrival.at - sentAt : 0)
                }
            }
            group.cancelAll()
            return Outcome(latencies: latencies.sorted(), deliveriesPerSecond: Double(events * subscribers) / writerSeconds)
        }
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
            guard response.status == .ok, let result = try? JSONDecoder().decode(Position.self, from: Data(answer.readableBytesView)),
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

    /// One subscriber: reads the SSE stream, signals `ready` at `caught-up`, and notes when each
    /// event's `id:` line arrived, until `events` have.
    private static func follow(client: HTTPClient, url: String, events: Int,
                               ready: AsyncStream<Void>.Continuation) async throws -> [Arrival]? {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3600))
        guard response.status == .ok else {
            let answer = try await response.body.collect(upTo: 1 << 16)
            throw StrataError.invalidArgument("subscribe answered \(response.status.code): \(String(buffer: answer))")
        }
        var arrivals: [Arrival] = []
        arrivals.reserveCapacity(events)
        var line: [UInt8] = []
        let idPrefix = Array("id: ".utf8)
        let caughtUp = Array("event: caught-up".utf8)
        for try await buffer in response.body {
            let at = DispatchTime.now().uptimeNanoseconds
            for byte in buffer.readableBytesView {
                guard byte == UInt8(ascii: "\n") else {
                    line.append(byte)
                    continue
                }
                if line.starts(with: idPrefix) {
                    var position: UInt64 = 0
                    for digit in line[idPrefix.count...] { position = position * 10 + UInt64(digit &- UInt8(ascii: "0")) }
                    arrivals.append((position, at))
                } else if line == caughtUp {
                    ready.yield()
                }
                line.removeAll(keepingCapacity: true)
            }
            if arrivals.count >= events { return arrivals }
        }
        throw StrataError.invalidArgument("a subscription ended after \(arrivals.count) of \(events) events")
    }
}
