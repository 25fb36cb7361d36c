import AsyncHTTPClient
import Foundation
import NIOCore
import Strata

/// The append load generator: `connections` clients, each sending its share of append requests
/// one after another to its own stream, every request carrying `batch` events of about 200 bytes.
struct HTTPAppendLoad {
    let connections: Int
    let requests: Int
    let batch: Int

    /// One benchmark event's JSON payload (about 200 bytes, like `strata bench`'s events).
    static let payload = #"{"orderId":"9f0c2a4e-1b7d-4c3a-9e55-6a1f0d2b7c88","customer":"customer-000042","amount":1234.5,"currency":"EUR","items":[{"sku":"sku-1","qty":2},{"sku":"sku-2","qty":1}],"note":"benchmark"}"#

    /// The request body: `batch` events with expected revision `any` (ids are left to the server).
    func body() -> ByteBuffer {
        let event = #"{"type":"bench-event","data":\#(HTTPAppendLoad.payload)}"#
        return ByteBuffer(string: #"{"expectedRevision":"any","events":["# + Array(repeating: event, count: batch).joined(separator: ",") + "]}")
    }

    /// Sends every request over HTTP and returns events per second. Each client first sends a
    /// few untimed requests, so that connections are open before the clock starts.
    func runHTTP(client: HTTPClient, baseURL: String, label: String) async throws -> Double {
        let body = self.body()
        let perClient = max(1, requests / connections)
        @Sendable func send(_ stream: String) async throws {
            var request = HTTPClientRequest(url: "\(baseURL)/streams/\(stream)")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
            let response = try await client.execute(request, timeout: .seconds(60))
            let answer = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else {
                throw StrataError.invalidArgument("append to \(stream) answered \(response.status.code): \(String(buffer: answer))")
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask { for _ in 0..<3 { try await send("\(label)-warmup-\(c)") } }
            }
            try await group.waitForAll()
        }
        let started = DispatchTime.now().uptimeNanoseconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask { for _ in 0..<perClient { try await send("\(label)-\(c)") } }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return Double(perClient * connections * batch) / seconds
    }

    /// The same load appended directly to `store` in this process, by `connections` tasks: the
    /// baseline that shows what HTTP costs.
    func runInProcess(store: any EventStore, label: String) async throws -> Double {
        let batch = self.batch
        let perClient = max(1, requests / connections)
        let started = DispatchTime.now().uptimeNanoseconds
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask {
                    for _ in 0..<perClient {
                        // Fresh ids every time, as the server gives the HTTP requests' events.
                        let events = (0..<batch).map { _ in EventData(type: "bench-event", json: HTTPAppendLoad.payload) }
                        _ = try await store.append(to: "\(label)-\(c)", events: events)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return Double(perClient * connections * batch) / seconds
    }
}
