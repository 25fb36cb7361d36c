import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Plain HTTP for tests: status, headers and body, over one shared client (the server's tests
/// and the many-instance tests of `strata serve`).
///
/// ```swift
/// let answer = try await HTTPTestClient.send(.POST, base + "/streams/s", body: #"{"events":[…]}"#)
/// #expect(answer.status == 200)
/// ```
public enum HTTPTestClient {
    /// The client every test request goes through (it follows redirects).
    public static let shared = HTTPClient(eventLoopGroupProvider: .singleton)
    /// A client that does not follow redirects: the 307 itself is the answer.
    public static let notFollowing = HTTPClient(eventLoopGroupProvider: .singleton,
                                                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    /// A response read to its end.
    public struct Answer {
        /// The status code.
        public let status: Int
        /// The response headers.
        public let headers: HTTPHeaders
        /// The body's bytes.
        public let body: [UInt8]
        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object; empty when it is not one.
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        /// The `error.code` of a Strata error body.
        public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    /// Sends one request and reads its answer. A body is sent as JSON unless `headers` name a
    /// content type (the server refuses other types: 415). Redirects are followed unless
    /// `followingRedirects` is false.
    public static func send(_ method: HTTPMethod, _ url: String, body: String? = nil, bytes: [UInt8]? = nil,
                            headers: [(String, String)] = [], timeout: Duration = .seconds(30),
                            followingRedirects: Bool = true) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if (body != nil || bytes != nil) && !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let bytes { request.body = .bytes(ByteBuffer(bytes: bytes)) }
        let response = try await (followingRedirects ? shared : notFollowing).execute(request, timeout: .milliseconds(Int64(timeout / .milliseconds(1))))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }
}
