import AsyncHTTPClient
import Foundation
import NIOCore
import StrataTestSupport
import Testing

/// One Server-Sent Events message as a test sees it.
struct SSEMessage: Sendable, Equatable {
    var event: String = "message"
    var id: String?
    var data: String = ""
}

/// Opens an SSE stream and collects messages until a condition holds or a deadline passes.
enum SSETestReader {
    /// Reads messages of `url` (with optional headers) until `until` returns true for the list
    /// read so far, then disconnects. Throws when `timeout` passes first.
    static func read(_ url: String, headers: [(String, String)] = [], timeout: Duration = .seconds(20),
                     until: @escaping @Sendable ([SSEMessage]) -> Bool) async throws -> [SSEMessage] {
        try await Wait.within(timeout, "the SSE messages of \(url)") {
            var request = HTTPClientRequest(url: url)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await HTTPTestClient.shared.execute(request, timeout: .seconds(60))
            #expect(response.status.code == 200, "SSE status")
            var messages: [SSEMessage] = []
            var current = SSEMessage()
            var hasField = false
            var pending: [UInt8] = []
            for try await buffer in response.body {
                pending.append(contentsOf: buffer.readableBytesView)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    if line.isEmpty {
                        if hasField { messages.append(current) }
                        current = SSEMessage()
                        hasField = false
                        if until(messages) { return messages }
                    } else if line.hasPrefix(":") {
                        continue
                    } else if line.hasPrefix("retry:") {
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
            }
            return messages
        }
    }
}
