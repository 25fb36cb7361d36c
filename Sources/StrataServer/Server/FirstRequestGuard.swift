import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// A child channel that guards the first request of each connection, before handing the
/// connection to `Base` (the HTTP/1 and WebSocket channel).
///
/// Hummingbird's idle timeout starts only once a first request has been told apart from a
/// WebSocket upgrade, so on its own a connection that sends nothing, or a first request head a
/// byte at a time (slowloris), is held forever. ``FirstRequestHeadHandler`` sits in front of the
/// HTTP decoder (after TLS, when TLS wraps this channel) and closes the connection when the
/// first head is not complete within the idle timeout or grows past the header limit; then it
/// removes itself, and Hummingbird's own timeout and decoder limits guard later requests. A
/// first head the HTTP decoder refuses (too many fields, malformed) would otherwise leave the
/// connection open with no timer: ``FirstRequestErrorHandler``, behind the decoder, closes it.
struct FirstRequestGuard<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let timeout: TimeAmount
    let maxHeadBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(FirstRequestHeadHandler(timeout: timeout, maxHeadBytes: maxHeadBytes))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(FirstRequestErrorHandler())
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection whose first request head (up to the blank line) does not arrive within
/// `timeout` or passes `maxHeadBytes`; passes every byte on unchanged and removes itself once
/// the head is complete.
final class FirstRequestHeadHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let maxHeadBytes: Int
    private var received = 0
    /// The last bytes of the previous read, to find a blank line split across reads.
    private var carry: [UInt8] = []
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, maxHeadBytes: Int) {
        self.timeout = timeout
        self.maxHeadBytes = maxHeadBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let bytes = carry + buffer.readableBytesView
        let complete = FirstRequestHeadHandler.containsBlankLine(bytes)
        received += buffer.readableBytes
        if !complete && received > maxHeadBytes {
            timer?.cancel()
            context.close(promise: nil)
            return
        }
        carry = Array(bytes.suffix(3))
        context.fireChannelRead(data)
        if complete {
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    /// Whether `bytes` hold CR LF CR LF.
    static func containsBlankLine(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }
}

/// Behind the HTTP decoder until the first request part comes through: closes the connection
/// when the decoder refuses that head (Hummingbird answers a refused head only on later
/// requests, once its own handlers are in place). Passes everything on unchanged.
final class FirstRequestErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    /// Whatever reaches this handler was decoded: the first head is through.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}
