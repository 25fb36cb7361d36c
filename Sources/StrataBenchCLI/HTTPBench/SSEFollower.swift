import Foundation
import NIOCore
import NIOPosix

/// The fan-out benchmark's subscribers: plain TCP connections that send one `GET` and scan the
/// response bytes on the event loop for `id:` lines, noting when each arrived.
///
/// async-http-client's streaming body hands every chunk to an async iterator (a task switch per
/// chunk per connection), which cost the load generator about as much as the server's whole
/// delivery; this reader costs one event-loop read per chunk, so the figure measures the server.
/// It understands exactly what the benchmark needs: an HTTP/1.1 `200` with a chunked SSE body,
/// where each `id:` line and the `event: caught-up` line are whole lines (chunk-size lines are
/// separate lines and ignored).
final class SSEFollower: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    /// Arrivals: (position, uptime nanoseconds). Touched on the channel's event loop only.
    private var arrivals: [(position: UInt64, at: UInt64)] = []
    private var line: [UInt8] = []
    private var sawStatus = false
    private let expected: Int
    private let ready: AsyncStream<Void>.Continuation
    private let done: AsyncStream<Result<[(position: UInt64, at: UInt64)], any Error>>.Continuation
    private var finished = false

    private static let idPrefix = Array("id: ".utf8)
    private static let caughtUp = Array("event: caught-up".utf8)

    init(expected: Int, ready: AsyncStream<Void>.Continuation,
         done: AsyncStream<Result<[(position: UInt64, at: UInt64)], any Error>>.Continuation) {
        self.expected = expected
        self.ready = ready
        self.done = done
        arrivals.reserveCapacity(expected)
    }

    /// Connects to `host:port` and requests `path`.
    static func connect(group: any EventLoopGroup, host: String, port: Int, path: String, handler: SSEFollower) async throws {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) } }
            .connect(host: host, port: port).get()
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let at = DispatchTime.now().uptimeNanoseconds
        var failure: (any Error)?
        buffer.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                // Lines are short and most bytes are not line ends: a plain scan is enough.
                guard bytes[index] == UInt8(ascii: "\n") else {
                    index += 1
                    continue
                }
                if line.isEmpty {
                    failure = examine(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]), at: at)
                } else {
                    line.append(contentsOf: bytes[lineStart..<index])
                    failure = line.withUnsafeBytes { examine($0, at: at) }
                    line.removeAll(keepingCapacity: true)
                }
                if failure != nil { return }
                index += 1
                lineStart = index
            }
            // A line continued in the next read.
            if lineStart < count { line.append(contentsOf: bytes[lineStart..<count]) }
        }
        if let failure {
            fail(context, failure)
            return
        }
        if !finished && arrivals.count >= expected {
            finished = true
            done.yield(.success(arrivals))
            context.close(promise: nil)
        }
    }

    /// One line (without its `\n`): the status line first, then `id:` and `event:` lines.
    private func examine(_ raw: UnsafeRawBufferPointer, at: UInt64) -> (any Error)? {
        var bytes = raw[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if !sawStatus {
            sawStatus = true
            return bytes.starts(with: "HTTP/1.1 200".utf8) ? nil : StatusError(line: String(decoding: bytes, as: UTF8.self))
        }
        if bytes.starts(with: SSEFollower.idPrefix) {
            var position: UInt64 = 0
            for digit in bytes.dropFirst(SSEFollower.idPrefix.count) { position = position &* 10 &+ UInt64(digit &- UInt8(ascii: "0")) }
            arrivals.append((position, at))
        } else if bytes.elementsEqual(SSEFollower.caughtUp) {
            ready.yield()
        }
        return nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { fail(context, EndedError(received: arrivals.count, expected: expected)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        guard !finished else { return }
        finished = true
        ready.finish()
        done.yield(.failure(error))
        context.close(promise: nil)
    }

    struct StatusError: Error, CustomStringConvertible {
        let line: String
        var description: String { "subscribe answered \(line)" }
    }

    struct EndedError: Error, CustomStringConvertible {
        let received: Int
        let expected: Int
        var description: String { "a subscription ended after \(received) of \(expected) events" }
    }
}
