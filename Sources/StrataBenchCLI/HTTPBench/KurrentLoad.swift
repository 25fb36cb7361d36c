import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import Strata
import StrataKurrent

/// The gRPC (KurrentDB protocol) side of `strata bench-http`: the append load of
/// ``HTTPAppendLoad`` sent as `BatchAppend` calls, as KurrentDB's clients send appends, and
/// whole-`$all` reads through each surface (docs/KURRENTDB.md, docs/BENCHMARKS.md).
struct KurrentLoad {
    let connections: Int
    let requests: Int
    let batch: Int

    /// One `BatchAppend` request: `batch` events of the benchmark payload, fresh ids, expected revision any.
    static func request(stream: String, batch: Int) -> EventStore_Client_Streams_BatchAppendReq {
        var request = EventStore_Client_Streams_BatchAppendReq()
        request.correlationID.string = UUID().uuidString.lowercased()
        request.options.streamIdentifier.streamName = Data(stream.utf8)
        request.options.any = .init()
        let data = Data(HTTPAppendLoad.payload.utf8)
        request.proposedMessages = (0..<batch).map { _ in
            var message = EventStore_Client_Streams_BatchAppendReq.ProposedMessage()
            message.id.string = UUID().uuidString.lowercased()
            message.metadata = ["type": "bench-event", "content-type": "application/json"]
            message.data = data
            return message
        }
        request.isFinal = true
        return request
    }

    /// Runs `body` with a client on one HTTP/2 connection to the gRPC port.
    static func withClient<T: Sendable>(port: Int, _ body: @Sendable (EventStore_Client_Streams_Streams.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(EventStore_Client_Streams_Streams.Client(wrapping: client))
        }
    }

    /// Sends every request as one `BatchAppend` call each, `connections` calls at a time over
    /// one HTTP/2 connection, and returns events per second (after a few untimed calls).
    func runGRPC(port: Int, label: String) async throws -> Double {
        let (connections, batch) = (self.connections, self.batch)
        let perClient = max(1, requests / connections)
        return try await Self.withClient(port: port) { streams in
            @Sendable func send(_ stream: String) async throws {
                let request = Self.request(stream: stream, batch: batch)
                let failure: String? = try await streams.batchAppend(requestProducer: { writer in try await writer.write(request) }) { response in
                    var failure: String?
                    for try await answer in response.messages { if case .error(let status)? = answer.result { failure = status.message } }
                    return failure
                }
                if let failure { throw StrataError.invalidArgument("BatchAppend to \(stream) failed: \(failure)") }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<connections { group.addTask { for _ in 0..<3 { try await send("\(label)-warmup-\(c)") } } }
                try await group.waitForAll()
            }
            let started = DispatchTime.now().uptimeNanoseconds
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<connections { group.addTask { for _ in 0..<perClient { try await send("\(label)-\(c)") } } }
                try await group.waitForAll()
            }
            return Double(perClient * connections * batch) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
    }

    // MARK: Reading $all

    /// Appends `events` benchmark events in-process (batches of 1,000 to 100 streams), untimed.
    static func fill(_ store: any EventStore, events: Int) async throws {
        var written = 0
        while written < events {
            let count = min(1_000, events - written)
            _ = try await store.append(to: "read-\(written / 1_000 % 100)", events: (0..<count).map { _ in EventData(type: "bench-event", json: HTTPAppendLoad.payload) })
            written += count
        }
    }

    /// Reads the whole of `$all` in-process, page by page; events per second.
    static func readStore(_ store: any EventStore) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        var count = 0
        for try await _ in store.readAll() { count += 1 }
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Reads the whole of `$all` over HTTP, pages of the server's maximum; events per second.
    static func readHTTP(client: HTTPClient, baseURL: String, pageSize: Int) async throws -> Double {
        let started = DispatchTime.now().uptimeNanoseconds
        var count = 0
        var from: UInt64? = 1
        while let next = from {
            let response = try await client.execute(HTTPClientRequest(url: "\(baseURL)/streams/%24all?from=\(next)&limit=\(pageSize)"), timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 256 << 20)
            guard response.status == .ok, let page = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let events = page["events"] as? [Any] else {
                throw StrataError.invalidArgument("reading $all over HTTP answered \(response.status.code)")
            }
            count += events.count
            from = (page["next"] as? NSNumber)?.uint64Value
        }
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Reads the whole of `$all` in one gRPC `Read` call; events per second.
    static func readGRPC(port: Int) async throws -> Double {
        try await withClient(port: port) { streams in
            var request = EventStore_Client_Streams_ReadReq()
            request.options.all.start = .init()
            request.options.count = UInt64.max
            request.options.noFilter = .init()
            request.options.uuidOption.string = .init()
            let started = DispatchTime.now().uptimeNanoseconds
            let count = try await streams.read(request) { response in
                var n = 0
                for try await message in response.messages { if case .event? = message.content { n += 1 } }
                return n
            }
            return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
    }
}
