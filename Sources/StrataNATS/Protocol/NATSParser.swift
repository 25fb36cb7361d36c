import NIOCore

/// One operation the server sent.
public enum NATSServerOp: Sendable {
    /// `INFO {json}`: the raw JSON.
    case info([UInt8])
    /// `MSG` or `HMSG`.
    case message(NATSMessage)
    /// `+OK` (verbose mode).
    case ok
    /// `-ERR 'text'`.
    case error(String)
    /// `PING`.
    case ping
    /// `PONG`.
    case pong
}

/// An incremental parser of the server-to-client protocol. Feed it bytes as they arrive, in any
/// split; it returns complete operations and keeps what is incomplete. A `MSG`/`HMSG` control
/// line is parsed once, then the parser waits for its payload without scanning it again.
public struct NATSParser: Sendable {
    /// The longest control line accepted (an `INFO` with many cluster URLs can be long).
    public static let maxControlLine = 1 << 20
    /// The largest message accepted, in bytes: NATS servers cap `max_payload` at 64 MiB, so a
    /// larger size on a `MSG`/`HMSG` line is a protocol violation (found by fuzzing: a size near
    /// `Int.max` overflowed the completeness check and trapped).
    public static let maxMessageBytes = 64 << 20

    private var buffer: ByteBuffer
    /// A parsed `MSG`/`HMSG` control line whose payload has not fully arrived.
    private var pending: PendingMessage?

    private struct PendingMessage {
        var subject: String
        var sid: UInt64
        var replyTo: String?
        var headerBytes: Int
        var totalBytes: Int
    }

    /// Creates a parser with an empty buffer.
    public init() {
        buffer = ByteBufferAllocator().buffer(capacity: 4096)
    }

    /// Appends bytes that arrived.
    public mutating func feed(_ bytes: ByteBuffer) {
        var bytes = bytes
        if buffer.readableBytes == 0 && buffer.readerIndex > 0 {
            buffer.clear()
        } else if buffer.readerIndex > 65_536 {
            buffer.discardReadBytes()
        }
        buffer.writeBuffer(&bytes)
    }

    /// The next complete operation, or `nil` when more bytes are needed.
    /// - Throws: ``NATSError/protocolViolation(_:)`` for bytes that are not the protocol.
    public mutating func next() throws -> NATSServerOp? {
        if let p = pending { return try finish(p) }
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: 10) else {
            if view.count > Self.maxControlLine { throw NATSError.protocolViolation("a control line is longer than \(Self.maxControlLine) bytes") }
            return nil
        }
        var end = lf
        if end > view.startIndex && view[end - 1] == 13 { end -= 1 }
        let line = String(decoding: view[view.startIndex..<end], as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: lf - view.startIndex + 1)
        let opEnd = line.firstIndex { $0 == " " || $0 == "\t" } ?? line.endIndex
        let op = line[..<opEnd].uppercased()
        let rest = line[opEnd...].drop { $0 == " " || $0 == "\t" }
        switch op {
        case "MSG", "HMSG":
            let args = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let p = try Self.messageHeader(args, hasHeaders: op == "HMSG", line: line)
            return try finish(p)
        case "PING": return .ping
        case "PONG": return .pong
        case "+OK": return .ok
        case "-ERR":
            var text = String(rest)
            if text.hasPrefix("'") && text.hasSuffix("'") && text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return .error(text)
        case "INFO": return .info(Array(rest.utf8))
        default:
            throw NATSError.protocolViolation("unknown operation \(String(line.prefix(40)).debugDescription)")
        }
    }

    private static func messageHeader(_ args: [Substring], hasHeaders: Bool, line: String) throws -> PendingMessage {
        let bad = NATSError.protocolViolation("malformed \(hasHeaders ? "HMSG" : "MSG") line \(String(line.prefix(200)).debugDescription)")
        let sizes = hasHeaders ? 2 : 1
        guard args.count == 2 + sizes || args.count == 3 + sizes, let sid = UInt64(args[1]) else { throw bad }
        let reply = args.count == 3 + sizes ? String(args[2]) : nil
        let total = Int(args[args.count - 1])
        let header = hasHeaders ? Int(args[args.count - 2]) : 0
        guard let total, let header, total >= 0, header >= 0, header <= total, total <= maxMessageBytes else { throw bad }
        return PendingMessage(subject: String(args[0]), sid: sid, replyTo: reply, headerBytes: header, totalBytes: total)
    }

    private mutating func finish(_ p: PendingMessage) throws -> NATSServerOp? {
        guard buffer.readableBytes >= p.totalBytes + 2 else {
            pending = p
            return nil
        }
        pending = nil
        var headers: NATSHeaders?
        if p.headerBytes > 0 {
            let block = buffer.readSlice(length: p.headerBytes)!
            headers = try NATSHeaders.parse(block.readableBytesView)
        }
        let payload = buffer.readSlice(length: p.totalBytes - p.headerBytes)!
        let crlf = buffer.readBytes(length: 2)!
        guard crlf == [13, 10] else { throw NATSError.protocolViolation("a message payload of \(p.subject) is not followed by CRLF") }
        return .message(NATSMessage(subject: p.subject, sid: p.sid, replyTo: p.replyTo, headers: headers, payload: payload))
    }
}
