import AsyncHTTPClient
import Foundation
import NIOCore

/// Sends one batch body (`{"events":[…]}`) to a receiver. Returning means the receiver took
/// the batch; throwing means it may not have (the batch is sent again).
public protocol EventTransport: Sendable {
    /// Sends `body`, the JSON of a batch of `count` events.
    func send(_ body: [UInt8], count: Int) async throws
}

/// POSTs batches over HTTP(S) with AsyncHTTPClient: `Content-Type: application/json`,
/// `Authorization: Bearer <apiKey>` when a key is set; any 2xx answer is success.
public struct HTTPEventTransport: EventTransport {
    /// The receiver's URL, for example `https://events.example.com/ingest`.
    public let endpoint: String
    /// The bearer token, if any.
    public let apiKey: String?
    /// The longest a request may take, connecting included.
    public let timeout: Duration
    private let client: HTTPClient

    /// Creates a transport.
    /// - Throws: ``EmitterError/invalidEndpoint(_:)`` unless `endpoint` is an http or https URL with a host.
    public init(endpoint: String, apiKey: String? = nil, timeout: Duration = .seconds(10), client: HTTPClient = .shared) throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else { throw EmitterError.invalidEndpoint(endpoint) }
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.timeout = timeout
        self.client = client
    }

    public func send(_ body: [UInt8], count: Int) async throws {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(body)
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
        let answer = try await response.body.collect(upTo: 64 << 10)
        let code = Int(response.status.code)
        guard (200..<300).contains(code) else {
            throw EmitterError.httpStatus(code: code, body: String(decoding: answer.readableBytesView.prefix(512), as: UTF8.self))
        }
    }
}
