import AsyncHTTPClient
import Foundation
import NIOCore

/// One Server-Sent Events message as a test sees it.
public struct SSEMessage: Sendable, Equatable {
    /// The `event:` field (`message` when absent).
    public var event: String = "message"
    /// The `id:` field.
    public var id: String?
    /// The `data:` lines, joined.
    public var data: String = ""

    /// A message; the defaults are those of a message without fields.
    public init(event: String = "message", id: String? = nil, data: String = "") {
        self.event = event
        self.id = id
        self.data = data
    }
}

/// Reads Server-Sent Events streams for tests: collects messages until a condition holds, or
/// hands each message to a handler as it arrives (for subscribers that live through a load).
public enum SSETestReader {
    /// The server did not answer the subscription with 200.
    public struct Refused: Error, CustomStringConvertible {
        /// The subscription's URL.
        public let url: String
        /// The status it got.
        public let status: Int
        /// "GET URL answered STATUS".
        public var description: String { "GET \(url) answered \(status)" }
    }

    /// Reads messages of `url` (with optional headers) until `until` returns true for the list
    /// read so far, then disconnects. Throws when `timeout` passes first.
    public static func read(_ url: String, headers: [(String, String)] = [], timeout: Duration = .seconds(60),
                            until: @escaping @Sendable ([SSEMessage]) -> Bool) async throws -> [SSEMessage] {
        try await Wait.within(timeout, "the SSE messages of \(url)") {
            var messages: [SSEMessage] = []
            try await follow(url, headers: headers) { message in
                messages.append(message)
                return !until(messages)
            }
            return messages
        }
    }

    /// Reads messages of `url` and hands each to `handler` as it arrives, until the handler
    /// returns false (then disconnects and returns true) or the server ends the stream (returns
    /// false). Comments and `retry:` lines are skipped. Unbounded: run it under a deadline, and
    /// expect it to throw when the server goes away.
    @discardableResult
    public static func follow(_ url: String, headers: [(String, String)] = [],
                              _ handler: (SSEMessage) async throws -> Bool) async throws -> Bool {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPTestClient.shared.execute(request, timeout: .hours(24))
        guard response.status.code == 200 else { throw Refused(url: url, status: Int(response.status.code)) }
        var current = SSEMessage()
        var hasField = false
        var pending: [UInt8] = []
        for try await buffer in response.body {
            pending.append(contentsOf: buffer.readableBytesView)
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: pending[start..<newline], as: UTF8.self)
                start = newline + 1
                if line.isEmpty {
                    if hasField, try await !handler(current) { return true }
                    current = SSEMessage()
                    hasField = false
                } else if line.hasPrefix(":") || line.hasPrefix("retry:") {
                    continue
                } else if let colon = line.firstIndex(of: ":") {
                    var value = String(line[line.index(after: colon)...])
                    if value.hasPrefix(" ") { value.removeFirst() }
                    hasField = true
                    switch line[..<colon] {
                    case "event": current.event = value
                    case "id": current.id = value
                    case "data": current.data += value
                    default: break
                    }
                }
            }
            pending.removeSubrange(..<start)
        }
        return false
    }
}
