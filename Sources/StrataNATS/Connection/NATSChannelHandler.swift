import NIOCore

/// What the channel handler reports to its connection.
enum NATSChannelEvent: Sendable {
    case op(NATSServerOp)
    case failed(NATSError)
    case inactive
}

/// Parses inbound bytes and runs the handshake: the first operation must be `INFO` (completing
/// `info`); then, after the connection sent CONNECT and PING, `PONG` completes `ready` and `-ERR`
/// fails it. From then on
/// every operation goes to `onEvent`; `PING` is answered here.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase { case awaitingInfo, awaitingPong, ready, failed }

    private var parser = NATSParser()
    private var phase = Phase.awaitingInfo
    let info: EventLoopPromise<[UInt8]>
    let ready: EventLoopPromise<Void>
    private let onEvent: @Sendable (NATSChannelEvent) -> Void

    init(info: EventLoopPromise<[UInt8]>, ready: EventLoopPromise<Void>, onEvent: @escaping @Sendable (NATSChannelEvent) -> Void) {
        self.info = info
        self.ready = ready
        self.onEvent = onEvent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.feed(unwrapInboundIn(data))
        do {
            while phase != .failed, let op = try parser.next() {
                handle(op, context: context)
            }
        } catch let error as NATSError {
            fail(error, context: context)
        } catch {
            fail(.protocolViolation("\(error)"), context: context)
        }
    }

    private func handle(_ op: NATSServerOp, context: ChannelHandlerContext) {
        if case .ping = op {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: "PONG\r\n")), promise: nil)
            return
        }
        switch phase {
        case .awaitingInfo:
            guard case .info(let json) = op else {
                return fail(.protocolViolation("the server did not start with INFO"), context: context)
            }
            phase = .awaitingPong
            info.succeed(json)
        case .awaitingPong:
            switch op {
            case .pong:
                phase = .ready
                ready.succeed(())
            case .error(let text):
                let lower = text.lowercased()
                fail(lower.contains("authoriz") || lower.contains("authentic") ? .authorizationFailed(text) : .serverError(text), context: context)
            default:
                break
            }
        case .ready:
            onEvent(.op(op))
        case .failed:
            break
        }
    }

    private func fail(_ error: NATSError, context: ChannelHandlerContext) {
        let wasReady = phase == .ready
        phase = .failed
        info.fail(error)
        ready.fail(error)
        if wasReady { onEvent(.failed(error)) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        info.fail(NATSError.connectionLost)
        ready.fail(NATSError.connectionLost)
        onEvent(.inactive)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.connectionFailed("\(error)"), context: context)
    }
}
